"""Use cases spanning stores: the registry and tracking services (governance joins them later)."""
