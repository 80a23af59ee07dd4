"""Operations: backups and restores of the database and the uploaded files (`laihua backup`, `laihua restore`).

An entry point like the API and the pages: it may use any domain, and no domain uses it."""
