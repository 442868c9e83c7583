"""The Datasets page: preview a file (uploaded or by path), choose columns, every bad input as a message,
register, list, rename, and delete (refused while a run uses the dataset)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kdcore.config import RunConfig, apply_overrides
from kdcore.datasets import get_manifest, list_datasets, register_frame
from kdcore.store import RunStore

PAGE = "pages/datasets.py"


def tiny_csv(path: Path, classes: tuple[str, ...] = ("neg", "pos"), per_class: int = 15) -> Path:
    """A CSV with a short title, a longer body and a label: the body is the guessed text column."""
    rows = [(f"t{i}", f"body {i} of a {c} review with quite a few more words in it, number {i}", c)
            for c in classes for i in range(per_class)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["title", "body", "label"]).to_csv(path, index=False)
    return path


def at_path(open_page: Callable[..., AppTest], path: Path, **extra: Path) -> AppTest:
    """The page with ``path`` typed in as a server path (and validation/test paths if given)."""
    at = open_page(PAGE)
    at.radio(key="datasets.how").set_value("path").run()
    at.text_input(key="datasets.path").set_value(str(path))
    for name, value in extra.items():
        at.text_input(key=f"datasets.path_{name}").set_value(str(value))
    return at.run()


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def test_datasets_page__lists_nothing_and_invites_a_file(kd_home: Path, open_page: Callable[..., AppTest],
                                                         texts: Callable[[AppTest], str]) -> None:
    # when the page opens on an empty home
    at = open_page(PAGE)
    # then it explains what to do and lists no dataset
    assert not at.exception, f"page raised: {at.exception}"
    assert "Upload a file or give a path" in texts(at), "the page says how to start"
    assert "No dataset registered yet" in texts(at), "and that nothing is registered"
    assert at.file_uploader(key="datasets.upload") is not None, "the uploader is shown"


def test_datasets_page__previews_a_csv_given_by_path(kd_home: Path, open_page: Callable[..., AppTest],
                                                     texts: Callable[[AppTest], str]) -> None:
    # given a tiny CSV inside the home
    csv = tiny_csv(kd_home / "incoming" / "reviews.csv")
    # when its path is given
    at = at_path(open_page, csv)
    # then the preview shows the guessed columns, its rows, counts and both charts; nothing is saved yet
    assert not at.exception, f"page raised: {at.exception}"
    assert not at.error, f"no error for a good file: {errors(at)}"
    assert (at.selectbox(key="datasets.text_column").value, at.selectbox(key="datasets.label_column").value) \
        == ("body", "label"), "the long free text and the low-cardinality column are guessed"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Classes"] == "2" and metrics["Rows"] == "30", f"counts of the file: {metrics}"
    assert len(at.dataframe) == 1, "the first rows are shown (no registered datasets yet)"
    assert len(at.get("plotly_chart")) == 2, "class counts and text lengths are charted"
    assert list_datasets(kd_home) == [], "nothing is registered before Register"


def test_datasets_page__column_choice_changes_the_preview(kd_home: Path, open_page: Callable[..., AppTest],
                                                          texts: Callable[[AppTest], str]) -> None:
    # given the preview of a CSV with two text columns, read at a length of 5 tokens
    at = at_path(open_page, tiny_csv(kd_home / "reviews.csv"))
    at.number_input(key="datasets.maxlen").set_value(5).run()
    before = {m.label: m.value for m in at.metric}["Truncated at 5"]
    # when the short title is chosen as the text
    at.selectbox(key="datasets.text_column").set_value("title").run()
    # then the preview is of the titles: none is cut at 5 tokens
    assert not at.exception, f"page raised: {at.exception}"
    after = {m.label: m.value for m in at.metric}["Truncated at 5"]
    assert (before, after) == ("100.0%", "0.0%"), f"every body is cut, no title: {before} -> {after}"
    assert "text **title**" in texts(at), "the caption names the chosen column"


def test_datasets_page__upload_is_saved_under_the_home_and_previewed(kd_home: Path,
                                                                     open_page: Callable[..., AppTest]) -> None:
    # given a CSV's bytes uploaded in the browser
    data = tiny_csv(Path(kd_home.parent / "outside.csv")).read_bytes()
    at = open_page(PAGE)
    at.file_uploader(key="datasets.upload").set_value(("my reviews.csv", data, "text/csv")).run()
    # then it is kept under <home>/uploads by its hash, and previewed
    assert not at.exception, f"page raised: {at.exception}"
    saved = list((kd_home / "uploads").iterdir())
    assert [p.name.split("-", 1)[1] for p in saved] == ["my_reviews.csv"], f"saved by hash and name: {saved}"
    assert {m.label: m.value for m in at.metric}["Rows"] == "30", "the upload is previewed"
    # when registered without a name, then it is named as the user's file was
    at.button(key="datasets.register").click().run()
    assert [m.name for m in list_datasets(kd_home)] == ["my_reviews"], f"{errors(at)}"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "content", "said"), [
    ("empty.csv", "", "empty.csv is empty"),
    ("broken.csv", 'text,label\n"fine text",a\n"never closed,b\nmore,a\n', "broken.csv line 3"),
    ("numbers.csv", "text,label\n1,2\n3,4\n", "no text-like column"),
    ("binary.csv", "PK\x00\x00\x03garbage\x00", "binary.csv is not a text file"),
    ("mixed.csv", "text,label\n" + "".join(f"text number {i},{'pos' if i % 2 else i}\n" for i in range(8)),
     "label column 'label' mixes numbers and text"),
])
def test_datasets_page__bad_file_is_a_message_naming_it(kd_home: Path, open_page: Callable[..., AppTest],
                                                        name: str, content: str, said: str) -> None:
    # given a file the registry refuses
    path = write(kd_home / name, content)
    # when it is given
    at = at_path(open_page, path)
    # then the page shows the registry's message (naming the file and where), not a traceback
    assert not at.exception, f"a bad file must not raise: {at.exception}"
    assert said in errors(at), f"expected {said!r} in the errors: {errors(at)!r}"
    assert not at.get("plotly_chart"), "no preview of a file that cannot be read"


def test_datasets_page__one_class_is_refused_when_chosen(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    # given a file whose only label-like column holds one class (so none is guessed)
    path = write(kd_home / "one.csv", "text,label\n" + "".join(f"some text {i},same\n" for i in range(10)))
    at = at_path(open_page, path)
    assert "no column looks like a label" in errors(at), f"the guess fails and says so: {errors(at)}"
    # when that column is chosen in the select box the file's columns still fill
    at.selectbox(key="datasets.label_column").set_value("label").run()
    # then the message names the column and its one class
    assert not at.exception, f"page raised: {at.exception}"
    assert "label column 'label' has one class only ('same')" in errors(at), f"{errors(at)}"


def test_datasets_page__missing_labels_are_counted_and_can_be_dropped(kd_home: Path, store: RunStore,
                                                                      open_page: Callable[..., AppTest]) -> None:
    # given a CSV where two rows lack a label
    lines = [f"text number {i} here,{'ab'[i % 2]}" for i in range(30)] + ["no label here,", "nor here,"]
    at = at_path(open_page, write(kd_home / "gaps.csv", "text,label\n" + "\n".join(lines) + "\n"))
    # then the preview counts them, warns with the first row, and offers to drop them
    assert not at.exception, f"page raised: {at.exception}"
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Missing texts"], metrics["Missing labels"]) == ("0", "2"), f"the gaps are counted: {metrics}"
    assert any("first at row 31" in w.value for w in at.warning), "the first gap's row is named"
    # when registering as it is, it is refused with that message; dropping them registers the rest
    at.button(key="datasets.register").click().run()
    assert "row(s) lack a text" in errors(at) and list_datasets(kd_home) == [], "refused, nothing saved"
    at.checkbox(key="datasets.drop_missing").check().run()
    at.button(key="datasets.register").click().run()
    assert not at.exception, f"page raised: {at.exception}"
    assert [m.rows for m in list_datasets(kd_home)] == [30], "registered without the two rows"


def test_datasets_page__validation_file_without_the_label_column(kd_home: Path,
                                                                 open_page: Callable[..., AppTest]) -> None:
    # given a validation file whose columns are not the main file's
    main = tiny_csv(kd_home / "train.csv")
    val = write(kd_home / "val.csv", "body,category\nsome text,neg\n")
    # when both are given
    at = at_path(open_page, main, val=val)
    # then the message names the file and the missing column
    assert "val.csv has no column 'label'" in errors(at), f"{errors(at)}"


def test_datasets_page__path_outside_the_allowed_folders_is_refused(kd_home: Path, tmp_path: Path,
                                                                    open_page: Callable[..., AppTest]) -> None:
    outside = tiny_csv(tmp_path / "elsewhere" / "d.csv")
    at = at_path(open_page, outside)
    assert not at.exception, f"page raised: {at.exception}"
    assert "reads dataset files only inside" in errors(at), f"the rule is named: {errors(at)}"


def test_datasets_page__register_lists_renames_and_deletes(kd_home: Path, open_page: Callable[..., AppTest],
                                                           texts: Callable[[AppTest], str]) -> None:
    # given a previewed file, named
    at = at_path(open_page, tiny_csv(kd_home / "reviews.csv"))
    at.text_input(key="datasets.name").set_value("my reviews").run()
    # when it is registered
    at.button(key="datasets.register").click().run()
    # then it is stored and listed
    assert not at.exception, f"page raised: {at.exception}"
    [manifest] = list_datasets(kd_home)
    assert manifest.name == "my reviews" and f"`{manifest.id}`" in texts(at), "registered and its id shown"
    table = at.dataframe[-1].value
    assert list(table["Id"]) == [manifest.id] and list(table["Rows"]) == [30], f"listed: {table}"
    # when it is renamed
    at.text_input(key="datasets.new_name").set_value("renamed").run()
    at.button(key="datasets.rename").click().run()
    assert get_manifest(kd_home, manifest.id).name == "renamed", "the new name is stored"
    assert "renamed" in texts(at), "and said"
    # when it is deleted (no run uses it)
    at.button(key="datasets.delete").click().run()
    assert not at.exception, f"page raised: {at.exception}"
    assert list_datasets(kd_home) == [], "deleted"
    assert "No dataset registered yet" in texts(at), "the list is empty again"


def test_datasets_page__delete_is_refused_while_a_queued_run_uses_it(kd_home: Path, store: RunStore,
                                                                     open_page: Callable[..., AppTest]) -> None:
    # given a registered dataset and a queued run on it
    frame = pd.DataFrame({"text": [f"text {i} words" for i in range(24)], "label": ["a", "b"] * 12})
    manifest = register_frame(kd_home, frame, name="in use")
    run_id = store.create_run(apply_overrides(RunConfig(), [f"data.dataset={manifest.id}"]))
    # when it is deleted on the page
    at = open_page(PAGE)
    at.button(key="datasets.delete").click().run()
    # then the page refuses, naming the run, and the dataset stays
    assert not at.exception, f"page raised: {at.exception}"
    assert run_id in errors(at), f"the run using it is named: {errors(at)}"
    assert [m.id for m in list_datasets(kd_home)] == [manifest.id], "the dataset is kept"


def test_datasets_page__real_tweets_preview_and_register(kd_home: Path, shared_tweets: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         open_page: Callable[..., AppTest],
                                                         texts: Callable[[AppTest], str]) -> None:
    # given the real 3-class tweets (not UTF-8, CRLF) in a folder the server may read
    monkeypatch.setenv("KDCORE_DATA_ROOTS", str(shared_tweets.parent))
    # when previewed by path
    at = at_path(open_page, shared_tweets)
    # then the columns are guessed, the legacy encoding named, three imbalanced classes counted
    assert not at.exception, f"page raised: {at.exception}"
    assert (at.selectbox(key="datasets.text_column").value, at.selectbox(key="datasets.label_column").value) \
        == ("text", "sentiment"), "the posts and their sentiment"
    assert "Read as **utf-8**" not in texts(at), "the file is not UTF-8 and the page says what it read it as"
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Rows"], metrics["Classes"]) == ("38,158", "3"), f"every post, three classes: {metrics}"
    # when registered, then it is listed with its three classes
    at.button(key="datasets.register").click().run()
    assert [m.classes for m in list_datasets(kd_home)] == [("negative", "neutral", "positive")], f"{errors(at)}"


def test_datasets_page__a_folder_of_class_folders_previews(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    # given Keras' text_dataset_from_directory layout inside the home: one folder of .txt files per class
    for label in ("cats", "dogs"):
        folder = kd_home / "pets" / label
        folder.mkdir(parents=True)
        for i in range(12):
            (folder / f"{i}.txt").write_text(f"a story {i} about {label} and what they did all day", encoding="utf-8")
    # when the folder's path is given
    at = at_path(open_page, kd_home / "pets")
    # then each sub-folder is a class
    assert not at.exception and not at.error, f"page raised or refused: {at.exception} {errors(at)}"
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Rows"], metrics["Classes"]) == ("24", "2"), f"two classes of twelve: {metrics}"


def test_datasets_page__uploaded_validation_file_is_used_as_it_is(kd_home: Path, open_page: Callable[..., AppTest],
                                                                  texts: Callable[[AppTest], str]) -> None:
    # given a training file and a separate validation file, both uploaded
    train = tiny_csv(kd_home.parent / "train.csv").read_bytes()
    val = tiny_csv(kd_home.parent / "val.csv", per_class=4).read_bytes()
    at = open_page(PAGE)
    at.file_uploader(key="datasets.upload").set_value(("train.csv", train, "text/csv"))
    at.file_uploader(key="datasets.upload_val").set_value(("val.csv", val, "text/csv")).run()
    # then the preview splits by the files: the validation rows are the uploaded ones
    assert not at.exception and not at.error, f"page raised or refused: {at.exception} {errors(at)}"
    assert "val 8" in texts(at) and "files (validation:" in texts(at), "the validation file is the val split"
    assert any("also occur in training" in w.value for w in at.warning), "its texts repeat training's: a leak warning"
