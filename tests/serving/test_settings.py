"""ServeSettings: defaults, environment overrides, precedence and validation."""

from __future__ import annotations

import importlib
import os

import pytest

from facemotion.errors import FacemotionError
from facemotion.serving.settings import ENV_VARS, ServeSettings


def test_defaults_are_valid_and_bounded() -> None:
    settings = ServeSettings()
    assert settings.workers >= 1 and settings.capacity == settings.workers + settings.max_queue
    assert settings.api_key is None and settings.cors_origins == ()
    assert 0 < settings.max_upload_bytes <= 64 * 2**20 and settings.max_pixels < 89_478_485


def test_threads_are_capped_at_the_cpu_count() -> None:
    cores = os.cpu_count() or 1
    assert ServeSettings.from_env({"FACEMOTION_THREADS": "100000"}).threads == cores
    assert ServeSettings(threads=1).threads == 1


def test_environment_overrides_defaults_and_arguments_override_the_environment() -> None:
    env = {"FACEMOTION_WORKERS": "3", "FACEMOTION_MAX_QUEUE": "0", "FACEMOTION_TIMEOUT": "2.5",
           "FACEMOTION_API_KEY": "k", "FACEMOTION_CORS_ORIGINS": "https://a.example, https://b.example,",
           "FACEMOTION_MAX_UPLOAD_BYTES": "1_000_000", "FACEMOTION_MODEL": "fast", "FACEMOTION_DETECTOR": "haar",
           "FACEMOTION_MAX_FACES": "5", "FACEMOTION_MAX_PIXELS": "", "UNRELATED": "x"}
    settings = ServeSettings.from_env(env)
    assert (settings.workers, settings.max_queue, settings.timeout_s, settings.api_key) == (3, 0, 2.5, "k")
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert (settings.max_upload_bytes, settings.model, settings.detector, settings.max_faces) == (
        1_000_000, "fast", "haar", 5)
    assert settings.max_pixels == ServeSettings().max_pixels  # empty variable: the default
    overridden = ServeSettings.from_env(env, workers=1, api_key=None, cors_origins=("*",), model="default")
    assert (overridden.workers, overridden.api_key, overridden.cors_origins, overridden.model) == (
        1, "k", ("*",), "default")  # None means "not given": the environment stays


def test_every_setting_but_detector_model_has_an_environment_variable() -> None:
    import dataclasses

    names = {f.name for f in dataclasses.fields(ServeSettings)}
    assert set(ENV_VARS) == names - {"detector_model"}  # YuNet keeps FACEMOTION_YUNET_MODEL
    assert all(var.startswith("FACEMOTION_") for var in ENV_VARS.values())


@pytest.mark.parametrize(("env", "fragment"), [
    ({"FACEMOTION_WORKERS": "many"}, "$FACEMOTION_WORKERS must be an integer, got 'many'"),
    ({"FACEMOTION_TIMEOUT": "soon"}, "$FACEMOTION_TIMEOUT must be a number"),
    ({"FACEMOTION_WORKERS": "0"}, "workers must be an integer >= 1, got 0"),
])
def test_malformed_environment_variables_are_named(env: dict, fragment: str) -> None:
    with pytest.raises(FacemotionError, match=None) as info:
        ServeSettings.from_env(env)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"workers": 0}, "workers"), ({"max_queue": -1}, "max_queue"), ({"timeout_s": 0}, "timeout_s"),
    ({"max_upload_bytes": 0}, "max_upload_bytes"), ({"api_key": "  "}, "api_key"), ({"max_faces": 0}, "max_faces"),
    ({"workers": True}, "workers"), ({"model": ""}, "model"), ({"max_faces": True}, "max_faces"),
    ({"max_queue": 1.5}, "max_queue"),
])
def test_invalid_values_are_refused(kwargs: dict, fragment: str) -> None:
    with pytest.raises(FacemotionError, match=fragment):
        ServeSettings(**kwargs)


def test_unknown_overrides_are_refused() -> None:
    with pytest.raises(FacemotionError, match="wokers"):
        ServeSettings.from_env({}, wokers=2)


def test_public_view_hides_the_key() -> None:
    public = ServeSettings(api_key="hunter2").public()
    assert public["api_key"] == "set" and "hunter2" not in str(public)


def test_default_workers_follow_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-CPU container on a 64-core host gets 2 workers, not 4."""
    settings_module = importlib.import_module("facemotion.serving.settings")
    monkeypatch.setattr(settings_module, "usable_cpus", lambda: 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert settings_module.default_workers() == 2
    monkeypatch.setattr(settings_module, "usable_cpus", lambda: 64)
    assert settings_module.default_workers() == 4
