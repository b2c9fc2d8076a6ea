"""The domain: pure logic that imports no web framework, ORM session or zeep."""
