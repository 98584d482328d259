"""Settings from the environment, one object for the web and the worker.

Names follow the AWS deployment guide (DATABASE_URL, SECRET_KEY, S3_BUCKET, AWS_REGION,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, FLASK_ENV) plus REDIS_URL for the broker. The defaults
need no server: a SQLite file and photos under ./instance, and kombu's filesystem transport.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(RuntimeError):
    """Raised when the environment cannot run the requested mode (e.g. production without secrets)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    flask_env: str = Field(default="development", alias="FLASK_ENV")
    secret_key: SecretStr | None = Field(default=None, alias="SECRET_KEY")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")

    instance_dir: Path = Field(default=Path("instance"), alias="INSTANCE_DIR")
    storage_dir: Path | None = Field(default=None, alias="STORAGE_DIR")

    s3_bucket: str | None = Field(default=None, alias="S3_BUCKET")
    s3_endpoint_url: str | None = Field(default=None, alias="S3_ENDPOINT_URL")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    aws_access_key_id: str | None = Field(default=None, alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(default=None, alias="AWS_SECRET_ACCESS_KEY")
    presigned_url_seconds: int = Field(default=300, alias="PRESIGNED_URL_SECONDS")
    s3_connect_timeout: float = Field(default=3.0, alias="S3_CONNECT_TIMEOUT")
    s3_read_timeout: float = Field(default=10.0, alias="S3_READ_TIMEOUT")
    s3_max_attempts: int = Field(default=3, alias="S3_MAX_ATTEMPTS")
    # With S3: the browser sends photos straight to the bucket (a presigned POST, valid this many seconds) and the
    # web only signs and registers them (attendance_web.direct_uploads). Off: every photo goes through the web.
    direct_uploads: bool = Field(default=True, alias="DIRECT_UPLOADS")
    direct_upload_seconds: int = Field(default=300, alias="DIRECT_UPLOAD_SECONDS")

    # Proxies in front of gunicorn whose X-Forwarded-For/-Proto to trust (EB: the load balancer and nginx
    # count as one hop each way they rewrite; None = 1 in production, 0 in development).
    trusted_proxy_hops: int | None = Field(default=None, alias="TRUSTED_PROXY_HOPS")

    # A school's staff often share one NAT address: the per-address limit is generous, the per-account one is not.
    ratelimit_enabled: bool = Field(default=True, alias="RATELIMIT_ENABLED")
    login_limit_per_address: str = Field(default="60 per minute;600 per hour", alias="LOGIN_LIMIT_PER_ADDRESS")
    login_limit_per_account: str = Field(default="10 per minute;30 per hour", alias="LOGIN_LIMIT_PER_ACCOUNT")
    signup_limit_per_address: str = Field(default="30 per hour", alias="SIGNUP_LIMIT_PER_ADDRESS")

    # Who may create an account: `open` (anyone: a new school of their own) or `invite` (only an admin's
    # invitation; the very first account of an installation still creates its school). None: invite in production.
    signup: Literal["open", "invite"] | None = Field(default=None, alias="SIGNUP")
    # Invitations and password-reset links are e-mailed through this server when set: smtp://user:pass@host:port
    # (STARTTLS when the server offers it) or smtps://host:465. Unset: the admin copies the link from the page.
    smtp_url: SecretStr | None = Field(default=None, alias="SMTP_URL")
    mail_from: str = Field(default="Student Attendance <attendance@localhost>", alias="MAIL_FROM")

    max_upload_mb: int = Field(default=40, alias="MAX_UPLOAD_MB")
    max_image_pixels: int = Field(default=60_000_000, alias="MAX_IMAGE_PIXELS")

    model_pack: Path = Field(default=Path("models/default"), alias="MODEL_PACK")
    ort_intra_op_threads: int = Field(default=2, alias="ORT_INTRA_OP_THREADS")
    ort_inter_op_threads: int = Field(default=1, alias="ORT_INTER_OP_THREADS")
    # auto: the default pack's int8 recognizer (7-bit weights: exact with or without VNNI) on every x86 CPU,
    # in development and production alike; fp32 on a GPU and on other CPUs (ARM, where int8 was never measured)
    recognizer_precision: Literal["auto", "fp32", "int8"] = Field(default="auto", alias="RECOGNIZER_PRECISION")

    task_soft_time_limit: int = Field(default=600, alias="TASK_SOFT_TIME_LIMIT")
    task_time_limit: int = Field(default=660, alias="TASK_TIME_LIMIT")
    task_max_retries: int = Field(default=5, alias="TASK_MAX_RETRIES")
    queue_prefix: str = Field(default="", alias="QUEUE_PREFIX")

    @property
    def is_production(self) -> bool:
        return self.flask_env.lower() == "production"

    @property
    def signup_mode(self) -> Literal["open", "invite"]:
        return self.signup or ("invite" if self.is_production else "open")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            # Heroku/EB-style "postgres://" URLs are not accepted by SQLAlchemy 2.
            from .db import normalize_url

            return normalize_url(self.database_url)
        return f"sqlite:///{(self.instance_dir / 'attendance.sqlite').resolve()}"

    @property
    def photo_dir(self) -> Path:
        return (self.storage_dir or self.instance_dir / "photos").resolve()

    @property
    def broker_url(self) -> str:
        return self.redis_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        return (self.instance_dir / "broker").resolve()

    def require_production_secrets(self) -> None:
        """Refuse to run production on development defaults; one line that names what is missing or wrong.

        Production is several containers or instances: a SQLite file, the filesystem broker or photos on local
        disk would each start fine and then lose or strand work (jobs no worker sees, photos no worker reads)."""
        if not self.is_production:
            return
        missing = [
            name
            for name, value in (
                ("SECRET_KEY", self.secret_key),
                ("DATABASE_URL", self.database_url),
                ("REDIS_URL", self.redis_url),
                ("S3_BUCKET", self.s3_bucket),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"FLASK_ENV=production needs {' and '.join(missing)} set in the environment; refusing to start."
            )
        wrong = []
        secret = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(secret) < MIN_SECRET_KEY_LENGTH or "change-me" in secret:  # .env.example's placeholder
            wrong.append(f"SECRET_KEY must be a random string of at least {MIN_SECRET_KEY_LENGTH} characters")
        if not self.sqlalchemy_url.startswith("postgresql"):
            wrong.append("DATABASE_URL must point at PostgreSQL")
        if not self.broker_url.startswith(("redis://", "rediss://")):
            wrong.append("REDIS_URL must be a redis:// or rediss:// URL")
        if wrong:
            raise ConfigurationError(f"FLASK_ENV=production: {'; '.join(wrong)}; refusing to start.")


#: `python -c "import secrets; print(secrets.token_urlsafe(48))"` gives 64 characters
MIN_SECRET_KEY_LENGTH = 32


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call get_settings.cache_clear() after changing the env)."""
    return Settings()
