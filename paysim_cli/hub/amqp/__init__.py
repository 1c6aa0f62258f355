"""A Docker-free Event Hubs AMQP 1.0 endpoint over the local event log (docs/amqp.md, ADR 0008)."""
