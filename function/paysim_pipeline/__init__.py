"""The payment-events pipeline: event schema, validation, normalisation, metric engine, sinks."""
