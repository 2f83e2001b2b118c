"""Running deployments: Runner base classes, processes, environments, the HTTP client and the serving runtime."""
