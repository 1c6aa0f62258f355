"""Function releases: the deterministic package, the releases store, deploys with a health gate and
automatic rollback, and the release settings (Azure: Flex one-deploy or zipdeploy; local: the state
directory's releases, which `paysim pipeline run` runs)."""
