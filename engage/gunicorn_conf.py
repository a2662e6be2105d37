"""gunicorn settings: `engage serve`, or `gunicorn -c python:engage.gunicorn_conf engage.wsgi:app`.

There is no gunicorn access log: Engage logs each request itself (engage/core/logs.py) with a
request id, route, status and duration, never the client address, user agent or referrer, and
no time on the anonymous routes. gunicorn's usual access log would write `%(h)s` (the address)
and `%(t)s` (the time) for every request; if you switch it on anyway (--access-logfile), the
format below is the one to keep.
"""

from engage.config import CONFIGS, selected_config, web_server_settings

_config = CONFIGS[selected_config()]
_web = web_server_settings()
bind = _web["bind"]
workers = _web["workers"]
threads = _web["threads"]
timeout = _web["timeout"]
worker_class = "gthread"
graceful_timeout = 20
keepalive = 5
# The control socket and heartbeat files go to memory, not a container's overlay disk.
worker_tmp_dir = "/dev/shm"  # noqa: S108  # nosec B108 - gunicorn's place for heartbeat files
accesslog = None
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = _config.LOG_LEVEL.lower()
_json = _config.LOG_FORMAT == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"engage": {"()": "engage.core.logs.JsonFormatter" if _json
                              else "engage.core.logs.TextFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "engage",
                             "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["console"], "level": _config.LOG_LEVEL.upper()},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": _config.LOG_LEVEL.upper(),
                           "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}
