"""The platform REST API v1 (api.md): authentication, rate limits, request schemas, handlers.

The facade platforms talk to. It stores submissions through coop.ingest, hands work to rules,
review and enforcement, and is the only place that knows the wire format of a request.
"""
