"""The event transport seam: one publisher and one consumer interface, over the local log or Event Hubs."""
