"""The machine counters of each run (its "machine": steal, irq, softirq, interrupts, context
switches during the load) in the report's noise section, on the real short run of
fixtures/results-precision.json (12 runs, no steal), with steal, nulls and older files
made from it in memory."""

import json

from conftest import fixture_path, run_script, write_json
from rot13charts import machine
from rot13charts.results import parse_results
from test_report import section, subsection


def precision_doc():
    with open(fixture_path("results-precision.json"), encoding="utf-8") as f:
        return json.load(f)


def lines_of(doc):
    return "\n".join(machine.machine_lines(parse_results(doc)))


def test_the_noise_section_summarises_the_counters_per_second_of_load(tmp_path):
    done = run_script("report", fixture_path("results-precision.json"), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = subsection(section((tmp_path / "report.md").read_text(encoding="utf-8"), "Noise floor"),
                      "The machine during the loads")
    assert "summed over all 2 CPUs" in text
    assert "| steal (hypervisor) | 0.0 % | 0.0 % | 12 of 12 |" in text
    # softirq: 0.05 s in 0.5007 s of load is the largest share.
    assert "| softirq (on loopback, much of the network stack) | 4.6 % | 10.0 % " \
           "(`epoll/closed-c10-d1-idle0-s16/rep5`) | 12 of 12 |" in text
    assert "| interrupts | 1,159/s | 2,211/s (`epoll/closed-c10-d1-idle0-s16/rep3`) | 12 of 12 |" in text
    assert "No run had steal above 5 % of its load time." in text


def test_steal_above_five_percent_of_the_load_is_a_warning_naming_the_runs():
    doc = precision_doc()
    for run in doc["runs"]:
        if run["id"] in ("select/closed-c10-d1-idle0-s16/rep2", "epoll/closed-c10-d1-idle0-s16/rep4"):
            run["machine"]["steal_s"] = 0.12 * run["machine"]["seconds"]
        elif run["id"] == "epoll/closed-c10-d1-idle0-s16/rep1":
            run["machine"]["steal_s"] = 0.05 * run["machine"]["seconds"]  # at the line, not over it
    text = lines_of(doc)
    assert "- **Warning: steal above 5 % of the load time in 2 runs**: `select/closed-c10-d1-idle0-s16/rep2` " \
           "(12 %), `epoll/closed-c10-d1-idle0-s16/rep4` (12 %)." in text
    assert "| steal (hypervisor) | 0.0 % | 12.0 % (`select/closed-c10-d1-idle0-s16/rep2`) | 12 of 12 |" in text


def test_null_counters_are_left_out_and_runs_without_machine_not_counted():
    doc = precision_doc()
    for i, run in enumerate(doc["runs"]):
        run["machine"]["steal_s"] = None  # e.g. not a VM
        if i < 2:
            run["machine"] = None  # a run that did not reach the load
    text = lines_of(doc)
    assert "steal" not in text.split("|", 1)[1]  # no row, no warning, no all-clear
    assert "| interrupts |" in text and "10 of 10 |" in text


def test_all_null_counters_say_the_os_does_not_report_them():
    doc = precision_doc()
    for run in doc["runs"]:
        run["machine"] = {"seconds": run["machine"]["seconds"], **{k: None for k, _w, _kind in machine.COUNTERS}}
    assert "machine counters are all null: this OS does not report them" in lines_of(doc)


def test_a_file_without_machine_counters_says_nothing(report_a, tmp_path):
    _out, text, _done = report_a
    assert "The machine during the loads" not in text
    doc = precision_doc()
    for run in doc["runs"]:
        del run["machine"]
    done = run_script("report", write_json(tmp_path / "results.json", doc))
    assert done.returncode == 0, done.stderr
    assert "The machine during the loads" not in (tmp_path / "report.md").read_text(encoding="utf-8")
