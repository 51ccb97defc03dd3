"""Alerts: rules in a TOML file, matched against new and updated rounds, delivered to webhooks, email and Atom.

`rules` (pure: the file and matching), `messages` (pure: what is sent), `channels` (sending), `dispatch`
(one alert run over the store's ledger, storage/alerts.py).
"""

from crawler.alerts.dispatch import AlertRunReport, Outcome, run_alerts, start_watching
from crawler.alerts.rules import AlertConfig, AlertConfigError, alerts_path, load_alerts

__all__ = [
    "AlertConfig",
    "AlertConfigError",
    "AlertRunReport",
    "Outcome",
    "alerts_path",
    "load_alerts",
    "run_alerts",
    "start_watching",
]
