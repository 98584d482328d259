"""Code shared by the web service and the worker: settings, schema, storage, job contracts."""
