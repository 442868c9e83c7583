"""Uploaded ``.keras`` teachers (issue 19, source 2): safe-mode loading, refusals with the reason, the check on rows."""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from kdcore.config import apply_overrides
from kdcore.datasets import register_frame
from kdcore.engine.teacher_check import (
    TeacherFileError,
    check_teacher,
    custom_objects,
    load_teacher_model,
    model_input_kind,
    model_input_length,
    output_is_probabilities,
)
from kdcore.samples import tiny_config

MAXLEN, VOCAB = 40, 200  # tiny_config's


def _token_model(width: int = 2, length: int | None = MAXLEN, activation: str | None = "softmax",
                 dtype: str = "int32", vocab: int = VOCAB) -> keras.Model:
    return keras.Sequential([keras.Input((length,), dtype=dtype), keras.layers.Embedding(vocab, 4),
                             keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(width, activation=activation)])


def _text_model(width: int = 2) -> keras.Model:
    """A model of raw strings: its own TextVectorization inside (as student_text.keras has)."""
    vectorize = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=8,
                                               vocabulary=["purr", "bark", "swim", "the", "pet"])
    return keras.Sequential([keras.Input((), dtype="string"), vectorize, keras.layers.Embedding(50, 4),
                             keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(width)])


@keras.saving.register_keras_serializable(package="test_teacher_check")
class Twice(keras.layers.Layer):
    def call(self, x):
        return x * 2


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each kind of upload, saved once: valid ones and every refusal the check must explain."""
    folder = tmp_path_factory.mktemp("teachers")
    made = {"valid": _token_model(), "logits": _token_model(activation=None), "wide": _token_model(width=3),
            "short": _token_model(length=10), "small_vocab": _token_model(vocab=50), "text": _text_model(),
            "text3": _text_model(width=3), "float_dense": keras.Sequential([keras.Input((MAXLEN,)),
                                                                            keras.layers.Dense(2)]),
            "float_embedding": _token_model(dtype="float32", activation=None)}
    lam = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), keras.layers.Embedding(VOCAB, 4),
                            keras.layers.GlobalAveragePooling1D(), keras.layers.Lambda(lambda x: x * 2),
                            keras.layers.Dense(2)])
    made["lambda"] = lam
    made["custom"] = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), keras.layers.Embedding(VOCAB, 4),
                                       keras.layers.GlobalAveragePooling1D(), Twice(), keras.layers.Dense(2)])
    a, b = keras.Input((MAXLEN,), dtype="int32"), keras.Input((MAXLEN,), dtype="int32")
    merged = keras.layers.Concatenate()([keras.layers.Embedding(VOCAB, 4)(a), keras.layers.Embedding(VOCAB, 4)(b)])
    made["two_inputs"] = keras.Model([a, b], keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(merged)))
    paths = {}
    for name, model in made.items():
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])  # saving never needs safe mode off: the Lambda's bytecode is written as it is
    (folder / "corrupt.keras").write_bytes(np.random.default_rng(0).bytes(2048))
    with zipfile.ZipFile(folder / "other.keras", "w") as archive:
        archive.writestr("notes.txt", "not a model")
    (folder / "truncated.keras").write_bytes(paths["valid"].read_bytes()[:3000])
    (folder / "valid.h5").write_bytes(paths["valid"].read_bytes())
    return {**paths, **{name: folder / f"{name}.keras" for name in ("corrupt", "other", "truncated")},
            "h5": folder / "valid.h5"}


@pytest.fixture
def config(synthetic_imdb: Path):
    return tiny_config(synthetic_imdb)


def _refusal(path: Path, *words: str) -> str:
    with pytest.raises(TeacherFileError) as caught:
        load_teacher_model(path)
    message = str(caught.value)
    assert path.name in message, f"the message names the file: {message}"
    for word in words:
        assert word in message, f"{word!r} expected in: {message}"
    return message


def _problems(report: dict, *words: str) -> str:
    assert report["ok"] is False, f"not ok expected: {report}"
    text = " | ".join(report["problems"])
    for word in words:
        assert word in text, f"{word!r} expected in the problems: {text}"
    return text


def test_check_teacher__valid_tiny_model_is_ok(models, config, kd_home):
    # given a token-id model of the run's length, vocabulary and classes, with a softmax output
    # when it is checked against the run's data
    report = check_teacher(models["valid"], config, kd_home)
    # then it fits, and the report says what it is
    assert report["ok"] is True and report["problems"] == [], report
    assert (report["input"], report["input_length"], report["outputs"]) == ("tokens", MAXLEN, 2), report
    assert report["probabilities"] is True and report["params"] == VOCAB * 4 + 4 * 2 + 2, report
    assert report["file"] == "valid.keras" and report["name"], report


def test_check_teacher__output_setting_overrides_the_detection(models, config, kd_home):
    # given a logits model, said to output probabilities
    said = apply_overrides(config, ["teacher_source.kind=keras", "teacher_source.file=x.keras",
                                    "teacher_source.output=probabilities"])
    # then the report takes the setting's word; auto takes the model's
    assert check_teacher(models["logits"], said, kd_home)["probabilities"] is True, "output=probabilities"
    assert check_teacher(models["logits"], config, kd_home)["probabilities"] is False, "auto: a linear Dense"


def test_load_teacher_model__lambda_layer_is_refused_as_unsafe(models):
    _refusal(models["lambda"], "unsafe deserialization (a Lambda layer)", "safe mode only")


def test_load_teacher_model__custom_objects_are_named(models):
    # given a model with a registered custom layer, loaded where it is not registered
    registered = keras.saving.get_custom_objects()
    key = next(k for k in registered if k.endswith("Twice"))
    saved = registered.pop(key)
    try:
        # then it is refused naming the class
        _refusal(models["custom"], "custom objects", "Twice", "plain Keras does not know")
    finally:
        registered[key] = saved


def test_custom_objects__ignores_keras_own_and_the_compile_config():
    # given a config with keras classes, a custom class and a custom optimizer in compile_config
    config = {"class_name": "Sequential", "module": "keras", "registered_name": None, "config": {"layers": [
        {"class_name": "Dense", "module": "keras.layers", "registered_name": None},
        {"class_name": "Twice", "module": None, "registered_name": "pkg>Twice"}]},
        "compile_config": {"optimizer": {"class_name": "LazyAdam", "module": None,
                                         "registered_name": "kdcore>LazyAdam"}}}
    # then only the layer is a custom object (compile=False never builds the optimizer)
    assert custom_objects(config) == ["pkg>Twice"], custom_objects(config)


@pytest.mark.parametrize("name, words", [
    ("corrupt", ("not a Keras .keras file", "not a zip")),
    ("truncated", ("not a Keras .keras file",)),
    ("other", ("not a Keras .keras file", "without config.json", "notes.txt")),
    ("h5", ("must end in .keras",)),
])
def test_load_teacher_model__corrupt_or_non_keras_files_are_refused(models, name, words):
    _refusal(models[name], *words)


def test_load_teacher_model__two_inputs_are_refused(models):
    _refusal(models["two_inputs"], "2 inputs", "one input")


def test_check_teacher__wrong_output_width_says_k(models, config, kd_home):
    # given a model of 3 outputs for 2-class data
    report = check_teacher(models["wide"], config, kd_home)
    # then the shape and the expected K are said
    _problems(report, "(8, 3)", "2 classes", "(8, 2)")
    assert report["outputs"] == 3, report


def test_check_teacher__string_input_model_on_imdb_says_register(models, config, kd_home):
    report = check_teacher(models["text"], config, kd_home)
    _problems(report, "raw strings", "register imdb_reviews.csv.gz")
    assert report["input"] == "text", report


@pytest.mark.slow
def test_check_teacher__string_input_model_on_a_registered_dataset(models, config, kd_home):
    # given a registered 3-class dataset of texts
    rows = [{"text": f"{word} the pet {i}", "label": label, "split": split}
            for split, n in (("train", 12), ("val", 6), ("test", 6)) for i in range(n)
            for word, label in [(("purr", "bark", "swim")[i % 3], ("cats", "dogs", "fish")[i % 3])]]
    dataset = register_frame(kd_home, pd.DataFrame(rows), name="pets").id
    on_pets = apply_overrides(config, ["data.path=", f"data.dataset={dataset}"])
    # when a 3-output and a 2-output text model are checked on it
    fits, narrow = check_teacher(models["text3"], on_pets, kd_home), check_teacher(models["text"], on_pets, kd_home)
    # then the first fits (it read the raw texts) and the second is refused for its width
    assert fits["ok"] is True and fits["outputs"] == 3, fits
    _problems(narrow, "3 classes")


def test_check_teacher__input_length_mismatch_says_set_teacher_maxlen(models, config, kd_home):
    report = check_teacher(models["short"], config, kd_home)
    _problems(report, "reads 10 token ids", "set data.teacher_maxlen=10")
    assert report["input_length"] == 10 and report["outputs"] == 2, f"still run at its own length: {report}"


def test_check_teacher__smaller_embedding_than_the_vocabulary(models, config, kd_home):
    _problems(check_teacher(models["small_vocab"], config, kd_home), "Embedding knows 50", "data.vocab_size=50")


def test_check_teacher__input_setting_that_contradicts_the_model(models, config, kd_home):
    said = apply_overrides(config, ["teacher_source.kind=keras", "teacher_source.file=x.keras",
                                    "teacher_source.input=text"])
    _problems(check_teacher(models["valid"], said, kd_home), "teacher_source.input=text", "teacher_source.input=tokens")


def test_model_input_kind__float_input_is_refused_unless_an_embedding_reads_it(models, config, kd_home):
    # given a float-input Dense model and a float-input model that starts with an Embedding
    dense, embedding = load_teacher_model(models["float_dense"]), load_teacher_model(models["float_embedding"])
    # then the first is refused (features, not text) and the second reads token ids
    with pytest.raises(TeacherFileError, match="float32 inputs"):
        model_input_kind(dense)
    assert model_input_kind(embedding) == "tokens", "keras.Input's default float32 before an Embedding"
    _problems(check_teacher(models["float_dense"], config, kd_home), "float_dense.keras", "float32 inputs")


def test_check_teacher__missing_file_is_a_problem_not_an_error(tmp_path, config, kd_home):
    _problems(check_teacher(tmp_path / "nowhere.keras", config, kd_home), "no such file")


def test_check_teacher__non_finite_outputs(tmp_path, config, kd_home):
    # given a valid model whose Dense bias is NaN
    model = _token_model(activation=None)
    weights = model.layers[-1].get_weights()
    model.layers[-1].set_weights([weights[0], np.full_like(weights[1], np.nan)])
    model.save(tmp_path / "nan.keras")
    # then the check finds the non-finite outputs
    _problems(check_teacher(tmp_path / "nan.keras", config, kd_home), "non-finite")


def test_output_is_probabilities__last_activation_or_layer():
    # given models ending in softmax/sigmoid Dense, a Softmax layer, an Activation, and a linear Dense
    def base() -> list:
        return [keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 2), keras.layers.GlobalAveragePooling1D()]

    cases = {"softmax dense": ([keras.layers.Dense(2, activation="softmax")], True),
             "sigmoid dense": ([keras.layers.Dense(2, activation="sigmoid")], True),
             "Softmax layer": ([keras.layers.Dense(2), keras.layers.Softmax()], True),
             "Activation softmax": ([keras.layers.Dense(2), keras.layers.Activation("softmax")], True),
             "linear": ([keras.layers.Dense(2)], False)}
    for what, (tail, expected) in cases.items():
        model = keras.Sequential(base() + tail)
        assert output_is_probabilities(model) is expected, what
    assert model_input_length(keras.Sequential(base() + [keras.layers.Dense(2)])) == 4, "the input's second dimension"


@pytest.mark.parametrize("preset", [pytest.param("tiny", marks=pytest.mark.slow), "tiny-ngram", "tiny-conv"])
def test_check_teacher__a_kd_studio_teacher_of_each_family_is_ok(preset, tmp_path, config, kd_home):
    # given a teacher as an earlier run saves it (compiled with the lazy Adam registered by kdcore)
    from kdcore.config import preset_size
    from kdcore.engine.models import build_classifier, compile_classifier

    model = build_classifier(preset_size("teacher", preset), VOCAB, MAXLEN, name="teacher")
    compile_classifier(model, 1e-3, jit_compile=False, optimizer="lazy_adam")
    model.save(tmp_path / "teacher.keras")
    # when it is uploaded as a teacher of the same data
    report = check_teacher(tmp_path / "teacher.keras", config, kd_home)
    # then it fits: plain Keras layers, logits out, the run's length
    assert report["ok"] is True, report
    assert (report["input"], report["input_length"], report["probabilities"]) == ("tokens", MAXLEN, False), report
