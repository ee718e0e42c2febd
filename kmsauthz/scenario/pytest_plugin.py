"""pytest plugin `kmsauthz`: runs scenario files as test items (work in progress)."""
