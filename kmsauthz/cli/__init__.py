"""The `kmsauthz` command line: thin wrappers that parse arguments, call the library, format output."""
