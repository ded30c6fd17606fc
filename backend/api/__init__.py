"""REST API: serializers, one view module per resource, URLs and the OpenAPI schema."""
