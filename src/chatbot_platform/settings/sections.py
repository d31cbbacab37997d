"""Settings sections: each field reads the seed's `.env` key of the same name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AppEnv = Literal["local", "development", "testing", "staging", "production"]
Locale = Literal["it", "en"]
LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


def setting(default: Any, key: str, description: str, **constraints: Any) -> Any:
    """A settings field read from the environment variable `key`."""
    return Field(default, validation_alias=key, description=description, **constraints)


class Section(BaseSettings):
    """Base of every section: environment first, then the `.env` file, then the default."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        # Only the documented names: with populate_by_name a field was also read from the variable
        # named like the field itself (HOST set mail.host and redis.host, PATH set session.path).
        populate_by_name=False,
        frozen=True,
    )


class AppSettings(Section):
    name: str = setting("ChatbotPlatform", "APP_NAME", "Product name shown in the UI, e-mails and logs.")
    env: AppEnv = setting(
        "local", "APP_ENV", "Environment: local, development, testing, staging or production (strict checks)."
    )
    key: SecretStr | None = setting(
        None,
        "APP_KEY",
        "Secret used to sign sessions and tokens (`base64:` + 32+ random bytes). Required in production.",
    )
    debug: bool = setting(False, "APP_DEBUG", "Verbose errors in logs (never in HTTP responses).")
    timezone: str = setting("UTC", "APP_TIMEZONE", "IANA time zone for schedules and displayed dates.")
    url: str = setting(
        "http://127.0.0.1:8000", "APP_URL", "Public base URL, used in links, e-mails and the widget."
    )
    locale: Locale = setting(
        "it", "APP_LOCALE", "Default UI language and default knowledge-base language (it, en)."
    )
    fallback_locale: Locale = setting("en", "APP_FALLBACK_LOCALE", "Language used when a text is missing.")
    admin_token: SecretStr | None = setting(
        None,
        "ADMIN_TOKEN",
        "Platform operator token for the provisioning API. Required in production; generated in development.",
    )
    host: str = setting("127.0.0.1", "HOST", "Address `cbp serve` listens on.")
    port: int = setting(8000, "PORT", "Port `cbp serve` listens on.", ge=1, le=65535)
    storage_path: Path = setting(
        Path("storage"), "STORAGE_PATH", "Data folder: embedded database, uploaded files, generated secrets."
    )
    maintenance_driver: Literal["file", "cache", "database"] = setting(
        "cache",
        "APP_MAINTENANCE_DRIVER",
        "Where maintenance mode is stored (shared through Redis or the database).",
    )
    maintenance_store: str = setting(
        "redis", "APP_MAINTENANCE_STORE", "Cache store for maintenance mode state."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}")
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"


class DatabaseSettings(Section):
    url: SecretStr | None = setting(
        None,
        "DATABASE_URL",
        "Full PostgreSQL URL (postgresql://user:pass@host:port/db); alternative to the DB_* keys.",
    )
    connection: Literal["pgsql", "postgres", "postgresql"] = setting(
        "pgsql", "DB_CONNECTION", "Database driver; PostgreSQL is the only one supported."
    )
    host: str | None = setting(
        None, "DB_HOST", "PostgreSQL host. Unset (with no DATABASE_URL): the embedded PostgreSQL is started."
    )
    port: int = setting(5432, "DB_PORT", "PostgreSQL port.", ge=1, le=65535)
    database: str = setting("chatbot_platform", "DB_DATABASE", "Database name.")
    username: str = setting("postgres", "DB_USERNAME", "Database user.")
    password: SecretStr | None = setting(None, "DB_PASSWORD", "Database password.")
    charset: Literal["utf8", "UTF8", "utf-8"] = setting(
        "utf8", "DB_CHARSET", "Client encoding; always UTF-8."
    )
    search_path: str = setting("public", "DB_SEARCH_PATH", "PostgreSQL schema search path.")
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = setting(
        "prefer", "DB_SSLMODE", "TLS mode for the database connection."
    )
    pool_size: int = setting(
        30,
        "DB_POOL_SIZE",
        "Connections each process keeps once opened (count them for every web and worker process "
        "against PostgreSQL's max_connections).",
        ge=1,
        le=500,
    )
    pool_overflow: int = setting(
        0,
        "DB_POOL_OVERFLOW",
        "Extra connections a process may open in a burst and closes once returned; each new one costs "
        "a connect and type lookups, so waiting for a pooled one is usually quicker.",
        ge=0,
    )

    @property
    def is_embedded(self) -> bool:
        return self.url is None and self.host is None


class RedisSettings(Section):
    host: str | None = setting(
        None, "REDIS_HOST", "Redis host. Unset: cache, rate limits and queue run without Redis."
    )
    password: SecretStr | None = setting(None, "REDIS_PASSWORD", "Redis password.")
    port: int = setting(6379, "REDIS_PORT", "Redis port.", ge=1, le=65535)
    database: int = setting(
        0, "REDIS_DATABASE", "Redis database for admin sessions (SESSION_DRIVER=redis).", ge=0
    )
    cache_database: int = setting(
        1,
        "REDIS_CACHE_DATABASE",
        "Redis database for the cache, rate limits, the OpenAI budget, maintenance state and scraper "
        "slots (what `cbp cache clear` clears).",
        ge=0,
    )
    queue_database: int = setting(2, "REDIS_QUEUE_DATABASE", "Redis database for the job queue.", ge=0)

    @property
    def enabled(self) -> bool:
        return self.host is not None


class CacheSettings(Section):
    store: Literal["redis", "memory", "array", "database", "file"] = setting(
        "memory", "CACHE_STORE", "Cache backend: redis (shared) or memory (per process)."
    )
    prefix: str = setting("cbp", "CACHE_PREFIX", "Prefix of every cache key.")


class QueueSettings(Section):
    connection: Literal["database", "redis", "sync"] = setting(
        "database",
        "QUEUE_CONNECTION",
        "Job queue backend: database (PostgreSQL, default), redis, or sync (inline).",
    )
    default_queue: str = setting("default", "DB_QUEUE", "Name of the default queue.")
    db_retry_after: int = setting(
        180, "DB_QUEUE_RETRY_AFTER", "Seconds before a job on the database queue is retried.", ge=1
    )
    redis_queue: str = setting("default", "REDIS_QUEUE", "Name of the default queue on Redis.")
    redis_retry_after: int = setting(
        300, "REDIS_QUEUE_RETRY_AFTER", "Seconds before a Redis job is retried.", ge=1
    )
    scraper_retry_after: int = setting(
        600, "SCRAPER_QUEUE_RETRY_AFTER", "Seconds before a scraping job is retried.", ge=1
    )
    workers_in_process: bool = setting(
        True,
        "QUEUE_WORKERS_IN_PROCESS",
        "Run the job workers inside `cbp serve` (one machine); false when `cbp worker` runs them elsewhere.",
    )
    worker_concurrency: int = setting(
        2, "QUEUE_WORKER_CONCURRENCY", "Jobs one worker runs at once per queue.", ge=1
    )
    shutdown_grace_seconds: int = setting(
        5,
        "QUEUE_SHUTDOWN_GRACE",
        "Seconds running jobs get to finish on shutdown (interrupted jobs are retried).",
        ge=0,
    )
    ingestion_timeout: int = setting(1800, "INGESTION_TIMEOUT", "Seconds an ingestion job may run.", ge=1)
    embedding_timeout: int = setting(900, "EMBEDDING_TIMEOUT", "Seconds an embedding job may run.", ge=1)
    scraping_timeout: int = setting(1200, "SCRAPING_TIMEOUT", "Seconds a scraping job may run.", ge=1)


class SessionSettings(Section):
    driver: Literal["redis", "database", "cookie", "file", "array"] = setting(
        "database", "SESSION_DRIVER", "Where admin sessions are stored."
    )
    lifetime: int = setting(120, "SESSION_LIFETIME", "Admin session lifetime in minutes.", ge=1)
    encrypt: bool = setting(True, "SESSION_ENCRYPT", "Encrypt session payloads.")
    path: str = setting("/", "SESSION_PATH", "Cookie path.")
    domain: str | None = setting(None, "SESSION_DOMAIN", "Cookie domain (e.g. .example.com).")
    secure_cookie: bool = setting(
        False, "SESSION_SECURE_COOKIE", "Send cookies over HTTPS only (true in production)."
    )
    http_only: bool = setting(True, "SESSION_HTTP_ONLY", "Hide cookies from JavaScript.")
    same_site: Literal["lax", "strict", "none"] = setting(
        "lax", "SESSION_SAME_SITE", "SameSite cookie policy."
    )


class OpenAISettings(Section):
    api_key: SecretStr | None = setting(
        None,
        "OPENAI_API_KEY",
        "OpenAI (or compatible) API key. Unset: offline embedder and extractive answers.",
    )
    base_url: str = setting(
        "https://api.openai.com/v1",
        "OPENAI_API_BASE_URL",
        "Base URL of OpenAI or any OpenAI-compatible server.",
    )
    organization: str | None = setting(None, "OPENAI_ORGANIZATION", "OpenAI organization id.")
    project: str | None = setting(None, "OPENAI_PROJECT", "OpenAI project id.")
    embedding_model: str = setting(
        "text-embedding-3-small", "OPENAI_EMBEDDING_MODEL", "Embedding model name."
    )
    embedding_dim: int = setting(
        1536, "OPENAI_EMBEDDING_DIM", "Embedding dimension of that model.", ge=1, le=16000
    )
    chat_model: str = setting("gpt-4o-mini", "OPENAI_CHAT_MODEL", "Default chat model.")
    expensive_model: str = setting("gpt-4o", "OPENAI_EXPENSIVE_MODEL", "Model for harder questions.")
    expensive_if_over_chars: int = setting(
        600,
        "OPENAI_EXPENSIVE_IF_OVER_CHARS",
        "Questions longer than this, or asking several things at once (two or more question marks), "
        "go to OPENAI_EXPENSIVE_MODEL; 0 never uses it.",
        ge=0,
    )
    timeout: float = setting(
        30.0,
        "OPENAI_TIMEOUT",
        "Seconds to wait for the chat model's response and for each piece of a streamed answer.",
        gt=0,
        le=600,
    )
    max_tokens_per_minute: int = setting(
        200000, "OPENAI_MAX_TOKENS_PER_MINUTE", "Token budget per minute, shared across processes.", ge=1
    )
    max_requests_per_minute: int = setting(
        500, "OPENAI_MAX_REQUESTS_PER_MINUTE", "Request budget per minute, shared across processes.", ge=1
    )


class RagSettings(Section):
    chunk_max_chars: int = setting(
        2200, "RAG_CHUNK_MAX_CHARS", "Largest chunk, in characters.", ge=200, le=20000
    )
    chunk_overlap_chars: int = setting(
        250, "RAG_CHUNK_OVERLAP_CHARS", "Overlap between chunks.", ge=0, le=5000
    )
    vector_driver: Literal["pgvector", "milvus"] = setting("pgvector", "RAG_VECTOR_DRIVER", "Vector store.")
    vector_metric: Literal["cosine", "ip", "l2"] = setting(
        "cosine", "RAG_VECTOR_METRIC", "Vector distance metric."
    )
    vector_top_k: int = setting(50, "RAG_VECTOR_TOP_K", "Candidates from the vector leg.", ge=1, le=1000)
    bm25_top_k: int = setting(100, "RAG_BM25_TOP_K", "Candidates from the full-text leg.", ge=1, le=1000)
    rrf_k: int = setting(60, "RAG_RRF_K", "Reciprocal-rank-fusion constant.", ge=1)
    mmr_lambda: float = setting(
        0.3, "RAG_MMR_LAMBDA", "MMR trade-off: 1 relevance only, 0 diversity only.", ge=0, le=1
    )
    mmr_take: int = setting(30, "RAG_MMR_TAKE", "Candidates MMR chooses from.", ge=1, le=1000)
    neighbor_radius: int = setting(
        3, "RAG_NEIGHBOR_RADIUS", "Neighbouring chunks added around a hit.", ge=0, le=20
    )
    cache_enabled: bool = setting(True, "RAG_CACHE_ENABLED", "Cache retrieval results.")
    cache_ttl: int = setting(300, "RAG_CACHE_TTL", "Retrieval cache lifetime in seconds.", ge=0)
    ctx_enabled: bool = setting(
        True, "RAG_CTX_ENABLED", "Build a context for the answer from the retrieved chunks."
    )
    ctx_max_chars: int = setting(8000, "RAG_CTX_MAX_CHARS", "Largest context given to the model.", ge=200)
    ctx_compress_if_over: int = setting(
        1000, "RAG_CTX_COMPRESS_IF_OVER", "Snippets longer than this are compressed.", ge=1
    )
    ctx_compress_target: int = setting(
        500, "RAG_CTX_COMPRESS_TARGET", "Target length of a compressed snippet.", ge=1
    )
    feat_hybrid: bool = setting(True, "RAG_FEAT_HYBRID", "Combine vector and full-text search.")
    feat_reranker: bool = setting(True, "RAG_FEAT_RERANKER", "Rerank fused candidates.")
    reranker_driver: Literal["embedding", "llm"] = setting(
        "embedding",
        "RAG_RERANKER_DRIVER",
        "Reranker: embedding (offline re-scoring) or llm (the chat model scores the top candidates).",
    )
    feat_multiquery: bool = setting(
        False, "RAG_FEAT_MULTIQUERY", "Multi-query and HyDE expansion (needs an LLM)."
    )
    feat_context: bool = setting(True, "RAG_FEAT_CONTEXT", "Conversation-aware query rewriting.")
    min_citations: int = setting(1, "RAG_MIN_CITATIONS", "Citations needed to answer.", ge=0)
    min_confidence: float = setting(0.08, "RAG_MIN_CONFIDENCE", "Confidence needed to answer.", ge=0, le=1)
    force_if_has_citations: bool = setting(
        True, "RAG_FORCE_IF_HAS_CITATIONS", "Answer when citations exist even below the confidence threshold."
    )
    telemetry_enabled: bool = setting(True, "RAG_TELEMETRY_ENABLED", "Record per-stage retrieval traces.")


class MilvusSettings(Section):
    host: str = setting("127.0.0.1", "MILVUS_HOST", "Milvus host (or a milvus-lite file path).")
    port: int = setting(19530, "MILVUS_PORT", "Milvus port.", ge=1, le=65535)
    token: SecretStr | None = setting(None, "MILVUS_TOKEN", "Milvus/Zilliz token.")
    tls: bool = setting(False, "MILVUS_TLS", "Connect to Milvus over TLS.")
    collection: str = setting("kb_chunks_v1", "MILVUS_COLLECTION", "Milvus collection name.")
    partitions_enabled: bool = setting(True, "MILVUS_PARTITIONS_ENABLED", "One partition per tenant.")
    index_type: Literal["HNSW", "IVF_FLAT", "FLAT", "AUTOINDEX"] = setting(
        "HNSW", "MILVUS_INDEX_TYPE", "Milvus index type."
    )
    hnsw_m: int = setting(16, "MILVUS_HNSW_M", "HNSW M parameter.", ge=2, le=100)
    hnsw_ef_construction: int = setting(256, "MILVUS_HNSW_EF_CONSTRUCTION", "HNSW efConstruction.", ge=8)
    hnsw_ef: int = setting(128, "MILVUS_HNSW_EF", "HNSW ef at search time.", ge=1)


class StorageSettings(Section):
    disk: Literal["local", "s3"] = setting(
        "local", "FILESYSTEM_DISK", "Where uploaded files live: local or s3."
    )
    aws_access_key_id: str | None = setting(None, "AWS_ACCESS_KEY_ID", "S3 access key id.")
    aws_secret_access_key: SecretStr | None = setting(None, "AWS_SECRET_ACCESS_KEY", "S3 secret key.")
    aws_default_region: str = setting("eu-west-1", "AWS_DEFAULT_REGION", "S3 region.")
    aws_bucket: str | None = setting(None, "AWS_BUCKET", "S3 bucket for files.")
    aws_use_path_style_endpoint: bool = setting(
        False, "AWS_USE_PATH_STYLE_ENDPOINT", "Path-style S3 URLs (MinIO and most S3-compatible servers)."
    )
    aws_endpoint: str | None = setting(None, "AWS_ENDPOINT", "Custom S3 endpoint URL.")
    aws_url: str | None = setting(None, "AWS_URL", "Public base URL of the bucket.")
    cdn_url: str | None = setting(None, "CDN_URL", "CDN base URL for static assets.")
    asset_url: str | None = setting(None, "ASSET_URL", "Base URL of static assets (widget, admin CSS).")
    upload_max_mb: int = setting(
        100, "UPLOAD_MAX_MB", "Largest accepted upload in MB (the seed's post_max_size).", ge=1, le=2048
    )


class MailSettings(Section):
    mailer: Literal["smtp", "log", "array"] = setting(
        "log", "MAIL_MAILER", "smtp to send, log to only log e-mails."
    )
    host: str = setting("127.0.0.1", "MAIL_HOST", "SMTP host.")
    port: int = setting(587, "MAIL_PORT", "SMTP port.", ge=1, le=65535)
    username: str | None = setting(None, "MAIL_USERNAME", "SMTP user.")
    password: SecretStr | None = setting(None, "MAIL_PASSWORD", "SMTP password.")
    encryption: Literal["tls", "ssl", "none", "null"] = setting("tls", "MAIL_ENCRYPTION", "SMTP encryption.")
    from_address: str = setting("noreply@example.com", "MAIL_FROM_ADDRESS", "Sender address.")
    from_name: str = setting("ChatbotPlatform", "MAIL_FROM_NAME", "Sender name.")


class LoggingSettings(Section):
    level: LogLevel = setting("info", "LOG_LEVEL", "Lowest level written to the JSON log on stdout.")
    query_enabled: bool = setting(False, "LOG_QUERY_ENABLED", "Log every SQL statement (debugging only).")
    slow_queries: bool = setting(True, "LOG_SLOW_QUERIES", "Log statements slower than the threshold.")
    slow_query_threshold: int = setting(
        2000, "LOG_SLOW_QUERY_THRESHOLD", "Slow statement threshold in milliseconds.", ge=1
    )
    sentry_laravel_dsn: SecretStr | None = setting(None, "SENTRY_LARAVEL_DSN", "Sentry DSN (seed name).")
    sentry_dsn: SecretStr | None = setting(None, "SENTRY_DSN", "Sentry DSN (alternative name).")
    sentry_traces_sample_rate: float = setting(
        0.1, "SENTRY_TRACES_SAMPLE_RATE", "Sentry traces sample rate.", ge=0, le=1
    )
    sentry_profiles_sample_rate: float = setting(
        0.1, "SENTRY_PROFILES_SAMPLE_RATE", "Sentry profiles sample rate.", ge=0, le=1
    )
    slack_webhook_url: SecretStr | None = setting(
        None, "SLACK_WEBHOOK_URL", "Slack webhook for error alerts."
    )
    teams_webhook_url: SecretStr | None = setting(
        None, "TEAMS_WEBHOOK_URL", "Microsoft Teams webhook for alerts."
    )


class SecuritySettings(Section):
    stateful_domains: str | None = setting(
        None, "SANCTUM_STATEFUL_DOMAINS", "Comma-separated domains trusted for cookie sessions (admin UI)."
    )
    throttle_api_requests: int = setting(
        100, "THROTTLE_API_REQUESTS", "Requests per window on /api per key.", ge=1
    )
    throttle_api_decay_minutes: int = setting(
        1, "THROTTLE_API_DECAY_MINUTES", "API rate-limit window (minutes).", ge=1
    )
    throttle_chat_requests: int = setting(
        10, "THROTTLE_CHAT_REQUESTS", "Chat requests per window per key.", ge=1
    )
    throttle_chat_decay_minutes: int = setting(
        1, "THROTTLE_CHAT_DECAY_MINUTES", "Chat rate-limit window (minutes).", ge=1
    )
    secure_headers_enabled: bool = setting(True, "SECURE_HEADERS_ENABLED", "Send the security headers.")
    hsts_max_age: int = setting(
        31536000, "HSTS_MAX_AGE", "Strict-Transport-Security max-age (seconds).", ge=0
    )
    csp_enabled: bool = setting(True, "CSP_ENABLED", "Send a Content-Security-Policy.")
    fetch_allow_private_networks: bool = setting(
        False,
        "FETCH_ALLOW_PRIVATE_NETWORKS",
        "Let URL ingestion and the scraper fetch private, loopback and link-local addresses (intranets).",
    )
    health_check_enabled: bool = setting(True, "HEALTH_CHECK_ENABLED", "Serve GET /health.")
    health_check_secret: SecretStr | None = setting(
        None,
        "HEALTH_CHECK_SECRET",
        "When set, /health and /metrics require it (X-Health-Secret or ?secret=).",
    )


class FeatureSettings(Section):
    widget_enabled: bool = setting(True, "WIDGET_ENABLED", "Serve the public website widget.")
    widget_rate_limit: int = setting(
        60, "WIDGET_RATE_LIMIT", "Widget requests per minute per visitor and IP.", ge=1
    )
    widget_cache_ttl: int = setting(
        300, "WIDGET_CACHE_TTL", "Widget configuration cache lifetime (seconds).", ge=0
    )
    multi_kb_search_enabled: bool = setting(
        True, "MULTI_KB_SEARCH_ENABLED", "Search several knowledge bases at once."
    )
    conversation_history_enabled: bool = setting(True, "CONVERSATION_HISTORY_ENABLED", "Store conversations.")
    scraper_enabled: bool = setting(True, "SCRAPER_ENABLED", "Enable the website scraper.")
    scraper_max_concurrent: int = setting(
        3, "SCRAPER_MAX_CONCURRENT", "Pages fetched at once overall.", ge=1, le=64
    )
    analytics_enabled: bool = setting(True, "ANALYTICS_ENABLED", "Record analytics events.")
    metrics_enabled: bool = setting(True, "METRICS_ENABLED", "Serve Prometheus metrics at /metrics.")


class BackupSettings(Section):
    enabled: bool = setting(True, "BACKUP_ENABLED", "Run scheduled backups from `cbp scheduler`.")
    s3_bucket: str | None = setting(None, "BACKUP_S3_BUCKET", "S3 bucket for backups (unset: local folder).")
    retention_days: int = setting(30, "BACKUP_RETENTION_DAYS", "Days backups are kept.", ge=1)
    schedule: str = setting("0 2 * * *", "BACKUP_SCHEDULE", "Cron expression of the backup schedule.")


IGNORED_KEYS: dict[str, str] = {
    "DB_CACHE_CONNECTION": "Laravel database cache; the cache uses Redis or process memory.",
    "DB_CACHE_TABLE": "Laravel database cache table.",
    "DB_CACHE_LOCK_CONNECTION": "Laravel cache locks; locks use Redis or PostgreSQL advisory locks.",
    "DB_CACHE_LOCK_TABLE": "Laravel cache lock table.",
    "DB_QUEUE_TABLE": "Laravel jobs table; the SAQ queue manages its own tables.",
    "QUEUE_FAILED_DRIVER": "Failed jobs are always recorded in PostgreSQL.",
    "REDIS_CACHE_CONNECTION": "Laravel connection name; REDIS_CACHE_DATABASE selects the database.",
    "REDIS_QUEUE_CONNECTION": "Laravel connection name; REDIS_QUEUE_DATABASE selects the database.",
    "VIEW_CACHE_DRIVER": "Blade view cache; Jinja2 templates are compiled in memory.",
    "VIEW_COMPILED_PATH": "Blade compiled views path.",
    "BROADCAST_CONNECTION": "Laravel broadcasting; live updates use server-sent events.",
    "BROADCAST_DRIVER": "Pusher broadcasting; live updates use server-sent events.",
    "LOG_CHANNEL": "Monolog channel; logs are JSON on stdout.",
    "LOG_STACK": "Monolog stack; alerts use SLACK_WEBHOOK_URL / TEAMS_WEBHOOK_URL.",
    "LOG_STDERR_FORMATTER": "Monolog formatter; logs are always JSON.",
    "LOG_DEPRECATIONS_CHANNEL": "PHP deprecations channel.",
    "OCTANE_SERVER": "PHP Octane; use `cbp serve --workers N` or Gunicorn.",
    "OCTANE_HTTPS": "PHP Octane.",
    "OCTANE_HOST": "PHP Octane; use HOST.",
    "OCTANE_PORT": "PHP Octane; use PORT.",
    "OCTANE_WORKERS": "PHP Octane; use `cbp serve --workers N`.",
    "OCTANE_MAX_REQUESTS": "PHP Octane.",
    "OCTANE_WATCH": "PHP Octane.",
}
