"""The PostgreSQL backend (``postgresql://user:pass@host:port/db``): tracking, views, registry and
logged models in one database, on psycopg 3 with a connection pool. Loaded only when such a URI is
opened, so ``import nbtrack`` never imports psycopg."""
