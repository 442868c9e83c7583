"""The UI's subprocess boundary for checking a .keras teacher: argv, report parsing, timeouts, crashes.

A stand-in script plays ``python -m kdcore`` (``argv_prefix``), so these run in milliseconds
and import no TensorFlow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kdcore.config import RunConfig, apply_overrides
from kdcore.worker import teacher_check_process as tcp


def stand_in(body: str) -> list[str]:
    """A ``python -c`` prefix that runs ``body`` with the check's arguments in ``sys.argv[1:]``."""
    return [sys.executable, "-c", "import json, sys, time\n" + body]


def test_teacher_check_argv__names_the_command_file_config_and_home(tmp_path: Path) -> None:
    # when the command line of a check is built
    argv = tcp.teacher_check_argv(tmp_path / "t.keras", tmp_path / "c.json", tmp_path / "home")
    # then it is this interpreter running the CLI's teacher check on the file, with the config and home
    assert argv[:5] == [sys.executable, "-m", "kdcore", "teacher", "check"], f"the command: {argv}"
    assert argv[5:] == [str(tmp_path / "t.keras"), "--config", str(tmp_path / "c.json"), "--home",
                        str(tmp_path / "home")], f"its arguments: {argv}"


def test_run_teacher_check__returns_the_last_stdout_line_and_passes_the_config(tmp_path: Path) -> None:
    # given a stand-in that logs a line, then reports the config's maxlen it was given
    body = ("args = sys.argv[1:]\nconfig = json.load(open(args[args.index('--config') + 1]))\n"
            "print('loading...')\n"
            "print(json.dumps({'ok': True, 'problems': [], 'input_length': config['data']['maxlen'], "
            "'file': args[2], 'home': args[args.index('--home') + 1]}))")
    config = apply_overrides(RunConfig(), ["data.maxlen=123"])
    # when a file is checked
    report = tcp.run_teacher_check(tmp_path / "t.keras", config, tmp_path, argv_prefix=stand_in(body))
    # then its report is the last line, made from the config and paths it was given
    assert report["ok"] is True and report["problems"] == [], f"ok: {report}"
    assert report["input_length"] == 123, f"the run's config reached the check: {report}"
    assert (report["file"], report["home"]) == (str(tmp_path / "t.keras"), str(tmp_path)), f"{report}"


def test_run_teacher_check__a_timeout_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    # given a check that hangs
    report = tcp.run_teacher_check(tmp_path / "slow.keras", RunConfig(), tmp_path, timeout=0.5,
                                   argv_prefix=stand_in("time.sleep(30)"))
    # then the report says it was stopped, naming the file
    assert report["ok"] is False, f"not ok: {report}"
    assert "slow.keras" in report["problems"][0] and "longer than" in report["problems"][0], f"{report}"


def test_run_teacher_check__a_crash_is_a_problem_with_what_the_process_said(tmp_path: Path) -> None:
    # given a check that dies with a traceback and no report
    report = tcp.run_teacher_check(tmp_path / "boom.keras", RunConfig(), tmp_path,
                                   argv_prefix=stand_in("raise MemoryError('out of memory in the loader')"))
    # then the report names the file, the exit code and the process's last words
    problem = report["problems"][0]
    assert report["ok"] is False and "boom.keras" in problem and "exit 1" in problem, f"{report}"
    assert "out of memory in the loader" in problem, f"what it said is kept: {problem}"


def test_parse_report__bad_json_and_reasonless_refusals_are_worded(tmp_path: Path) -> None:
    # given output that is not JSON, and a report that says not ok without a reason
    garbled = tcp.parse_report("not json\n{half", "", 2, tmp_path / "x.keras")
    silent = tcp.parse_report(json.dumps({"ok": False}), "", 2, tmp_path / "x.keras")
    contradicting = tcp.parse_report(json.dumps({"ok": True, "problems": ["wrong width"]}), "", 0, "x.keras")
    # then each is a not-ok report with a problem in words
    assert not garbled["ok"] and "without a report (exit 2)" in garbled["problems"][0], f"{garbled}"
    assert not silent["ok"] and "without a reason" in silent["problems"][0], f"{silent}"
    assert not contradicting["ok"], f"a problem makes a report not ok: {contradicting}"
