import json

import pytest

import keynet_sdk
from keynet_sdk import ConfigError, config


def basic(environ):
    return config.get_basic_config(environ)


def test_defaults_when_nothing_is_set():
    assert basic({}) == {
        "epochs": 10,
        "batch_size": 16,
        "learning_rate": 0.001,
        "imgsz": 640,
        "device": "cpu",
    }
    assert basic({}) == keynet_sdk.DEFAULTS


def test_types_are_converted():
    result = basic({"EPOCHS": "3", "BATCH_SIZE": "8", "LEARNING_RATE": "0.01", "IMGSZ": "320", "DEVICE": "cuda:0"})
    assert result == {"epochs": 3, "batch_size": 8, "learning_rate": 0.01, "imgsz": 320, "device": "cuda:0"}
    assert type(result["epochs"]) is int
    assert type(result["batch_size"]) is int
    assert type(result["learning_rate"]) is float
    assert type(result["imgsz"]) is int
    assert type(result["device"]) is str


def test_legacy_variables_beat_defaults():
    result = basic({"CONFIG_EPOCHS": "7", "CONFIG_BATCH": "4", "CONFIG_LR0": "0.5", "CONFIG_IMGSZ": "224"})
    assert result == {"epochs": 7, "batch_size": 4, "learning_rate": 0.5, "imgsz": 224, "device": "cpu"}


def test_config_json_top_level_beats_legacy():
    environ = {
        "CONFIG": json.dumps({"epochs": 5, "batch_size": 2, "learning_rate": 0.2, "imgsz": 128, "device": "mps"}),
        "CONFIG_EPOCHS": "7",
        "CONFIG_BATCH": "4",
        "CONFIG_LR0": "0.5",
        "CONFIG_IMGSZ": "224",
    }
    assert basic(environ) == {"epochs": 5, "batch_size": 2, "learning_rate": 0.2, "imgsz": 128, "device": "mps"}


def test_config_json_basic_config_section_beats_top_level():
    environ = {"CONFIG": json.dumps({"basic_config": {"epochs": 6}, "epochs": 5, "imgsz": 96})}
    result = basic(environ)
    assert result["epochs"] == 6
    assert result["imgsz"] == 96


def test_individual_variables_beat_everything():
    environ = {
        "EPOCHS": "1",
        "BATCH_SIZE": "32",
        "LEARNING_RATE": "0.03",
        "IMGSZ": "512",
        "DEVICE": "cuda",
        "CONFIG": json.dumps({"basic_config": {"epochs": 6, "device": "mps"}, "batch_size": 2}),
        "CONFIG_EPOCHS": "7",
        "CONFIG_LR0": "0.5",
    }
    assert basic(environ) == {"epochs": 1, "batch_size": 32, "learning_rate": 0.03, "imgsz": 512, "device": "cuda"}


def test_each_key_falls_through_independently():
    environ = {"EPOCHS": "2", "CONFIG": json.dumps({"batch_size": 3}), "CONFIG_LR0": "0.4"}
    assert basic(environ) == {"epochs": 2, "batch_size": 3, "learning_rate": 0.4, "imgsz": 640, "device": "cpu"}


def test_empty_variable_counts_as_unset():
    assert basic({"EPOCHS": "", "CONFIG_EPOCHS": "4", "CONFIG": ""})["epochs"] == 4


def test_json_numbers_as_strings_and_integral_floats_are_accepted():
    result = basic({"CONFIG": json.dumps({"epochs": "12", "imgsz": 256.0, "learning_rate": "1e-3"})})
    assert result["epochs"] == 12 and type(result["imgsz"]) is int and result["imgsz"] == 256
    assert result["learning_rate"] == pytest.approx(0.001)


def test_batch_size_minus_one_means_automatic():
    assert basic({"BATCH_SIZE": "-1"})["batch_size"] == -1


@pytest.mark.parametrize(
    "variable,value",
    [
        ("EPOCHS", "abc"),
        ("EPOCHS", "1.5"),
        ("EPOCHS", "-3"),
        ("BATCH_SIZE", "many"),
        ("BATCH_SIZE", "0"),
        ("LEARNING_RATE", "fast"),
        ("LEARNING_RATE", "nan"),
        ("LEARNING_RATE", "-0.1"),
        ("IMGSZ", "0"),
        ("IMGSZ", "big"),
        ("CONFIG_EPOCHS", "x"),
        ("CONFIG_BATCH", "x"),
        ("CONFIG_LR0", "x"),
        ("CONFIG_IMGSZ", "x"),
    ],
)
def test_bad_variable_raises_config_error_naming_it(variable, value):
    with pytest.raises(ConfigError) as caught:
        basic({variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)
    assert repr(value) in str(caught.value) or value in str(caught.value)


def test_bad_value_does_not_fall_through_to_a_lower_level():
    with pytest.raises(ConfigError):
        basic({"EPOCHS": "abc", "CONFIG_EPOCHS": "5"})


def test_bad_config_json_value_is_named():
    with pytest.raises(ConfigError) as caught:
        basic({"CONFIG": json.dumps({"basic_config": {"epochs": "ten"}})})
    assert caught.value.variable == "CONFIG.basic_config.epochs"
    with pytest.raises(ConfigError) as caught:
        basic({"CONFIG": json.dumps({"imgsz": True})})
    assert caught.value.variable == "CONFIG.imgsz"


def test_malformed_config_json():
    with pytest.raises(ConfigError) as caught:
        basic({"CONFIG": "{not json"})
    assert caught.value.variable == "CONFIG"
    with pytest.raises(ConfigError):
        basic({"CONFIG": "[1, 2]"})


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_advanced_hyperparameters_primary_metric_and_full_config():
    document = {
        "advanced_config": {"mosaic": 0.5, "optimizer": "AdamW"},
        "primary_metric": "mAP50-95",
        "hyperparameters": {"patience": 5},
        "epochs": 4,
    }
    environ = {"CONFIG": json.dumps(document)}
    assert config.get_advanced_config(environ) == {"mosaic": 0.5, "optimizer": "AdamW"}
    assert config.get_hyperparameters(environ) == {"patience": 5}
    assert config.get_primary_metric(environ) == "mAP50-95"
    assert config.get_full_config(environ) == {
        "basic_config": {"epochs": 4, "batch_size": 16, "learning_rate": 0.001, "imgsz": 640, "device": "cpu"},
        "advanced_config": {"mosaic": 0.5, "optimizer": "AdamW"},
        "hyperparameters": {"patience": 5},
        "primary_metric": "mAP50-95",
    }


def test_missing_sections_are_empty():
    assert config.get_advanced_config({}) == {}
    assert config.get_hyperparameters({}) == {}
    assert config.get_primary_metric({}) is None


def test_legacy_advanced_config_variable():
    assert config.get_advanced_config({"ADVANCED_CONFIG": '{"a": 1}'}) == {"a": 1}
    environ = {"ADVANCED_CONFIG": '{"a": 1}', "CONFIG": '{"advanced_config": {"b": 2}}'}
    assert config.get_advanced_config(environ) == {"b": 2}


def test_non_object_sections_are_errors():
    with pytest.raises(ConfigError) as caught:
        config.get_advanced_config({"CONFIG": '{"advanced_config": [1]}'})
    assert caught.value.variable == "CONFIG.advanced_config"
    with pytest.raises(ConfigError):
        config.get_hyperparameters({"CONFIG": '{"hyperparameters": "x"}'})


def test_job_identity_and_folders(client, env):
    env.update(
        {
            "JOB_KIND": "export",
            "TASK_TYPE": "Detection",
            "FRAMEWORK": "ultralytics",
            "DATASET_ID": "ds-1",
            "MODEL_NAME": "yolov8n",
        }
    )
    assert client.job_id == "job-1"
    assert client.job_kind == "export"
    assert client.task_type == "detection"
    assert client.framework == "ultralytics"
    assert client.dataset_id == "ds-1"
    assert client.model_name == "yolov8n"
    assert client.dataset_dir() == env["KEYNET_INPUT_DIR"] + "/dataset"
    assert client.output_dir() == env["KEYNET_OUTPUT_DIR"]


def test_folder_defaults():
    assert config.input_dir({}) == "/keynet/input"
    assert config.output_dir({}) == "/keynet/output"
    assert config.events_path({}) == "/keynet/events.jsonl"
    assert config.job_kind({}) == "training"
    assert config.task_type({}) is None


def test_module_level_functions_read_os_environ(monkeypatch, tmp_path):
    monkeypatch.setenv("EPOCHS", "9")
    monkeypatch.setenv("CONFIG", json.dumps({"hyperparameters": {"x": 1}, "advanced_config": {"y": 2}}))
    monkeypatch.setenv("JOB_ID", "j")
    monkeypatch.setenv("TASK_TYPE", "classification")
    monkeypatch.setenv("KEYNET_INPUT_DIR", str(tmp_path / "in"))
    assert keynet_sdk.get_basic_config()["epochs"] == 9
    assert keynet_sdk.get_hyperparameters() == {"x": 1}
    assert keynet_sdk.get_advanced_config() == {"y": 2}
    assert keynet_sdk.get_full_config()["basic_config"]["epochs"] == 9
    assert keynet_sdk.job_id() == "j"
    assert keynet_sdk.task_type() == "classification"
    assert keynet_sdk.dataset_dir() == str(tmp_path / "in" / "dataset")
    with pytest.raises(ConfigError):
        monkeypatch.setenv("EPOCHS", "abc")
        keynet_sdk.get_basic_config()
