"""Real faults injected into the local stack on a schedule, and how fast the pipeline recovers from them."""
