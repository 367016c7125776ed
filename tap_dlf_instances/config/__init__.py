"""The tap's settings: the config as read and checked, its JSON schema, the files given to the
tap, and the regions' endpoints."""
