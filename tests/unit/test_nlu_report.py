"""The trainers' NLU report page: scores against the floors, weakest labels first,
the most confident mistakes, Rasa's images, everything escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.trainers import nlu_report

HOSTILE = "<script>alert('x')</script> & lapor"


def results_dir(tmp_path: Path) -> Path:
    results = tmp_path / "nlu"
    results.mkdir()
    intent_report = {
        "greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 60,
                  "confused_with": {}},
        "goodbye": {"precision": 0.8, "recall": 0.5, "f1-score": 0.615, "support": 20,
                    "confused_with": {"greet": 7, "thank": 3}},
        "faq": {"precision": 0.95, "recall": 0.99, "f1-score": 0.97, "support": 120,
                "confused_with": {"report_violation": 1}},
        "accuracy": 0.955,
        "macro avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 200},
        "weighted avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 200},
    }
    (results / "intent_report.json").write_text(json.dumps(intent_report))
    (results / "intent_errors.json").write_text(json.dumps([
        {"text": "selamat tinggal", "intent": "goodbye",
         "intent_prediction": {"name": "greet", "confidence": 0.41}},
        {"text": HOSTILE, "intent": "report_violation",
         "intent_prediction": {"name": "faq", "confidence": 0.93}},
    ]))
    (results / "response_selection_report.json").write_text(json.dumps({
        "faq/hoax": {"precision": 0.9, "recall": 0.8, "f1-score": 0.85, "support": 10,
                     "confused_with": {"faq/hoax_sanction": 2}},
        "faq/quiet_period": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 10,
                             "confused_with": {}},
        "accuracy": 0.9,
    }))
    (results / "response_selection_errors.json").write_text(json.dumps([
        {"text": "hukuman nyebar hoaks", "intent_response_key_target": "faq/hoax",
         "intent_response_key_prediction": {"name": "faq/hoax_sanction", "confidence": 0.6}},
    ]))
    (results / "intent_confusion_matrix.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (results / "intent_histogram.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return results


def test_report_page(tmp_path: Path, capsys) -> None:
    results = results_dir(tmp_path)
    assert nlu_report.main([str(results), "--min-intent-accuracy", "0.95",
                            "--min-faq-accuracy", "0.92"]) == 0
    page = (results / "report.html").read_text(encoding="utf-8")
    assert str(results / "report.html") in capsys.readouterr().out
    # Escaped, never markup.
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; lapor" in page
    # Margins: intent 0.955 - 0.95 over 200 examples = +1 example; FAQ below its floor.
    assert re.search(r'class="num thin">\+0\.005</td>\s*<td class="num">\+1</td>', page)
    assert re.search(r'class="num fail">-0\.020</td>', page)
    # Weakest first, with what each was confused with.
    assert page.index("<td>goodbye</td>") < page.index("<td>faq</td>") < page.index(
        "<td>greet</td>")
    assert "greet (7), thank (3)" in page
    assert page.index("<td>faq/hoax</td>") < page.index("<td>faq/quiet_period</td>")
    # Most confident mistakes first; FAQ topic errors too.
    assert page.index("alert") < page.index("selamat tinggal")
    assert "hukuman nyebar hoaks" in page and "faq/hoax_sanction" in page
    # The images Rasa wrote (and only those) sit next to the page.
    assert 'src="intent_confusion_matrix.png"' in page
    assert 'src="intent_histogram.png"' in page
    assert "response_selection_histogram.png" not in page
    assert "http" not in page.split("<body>")[1]


def test_missing_results(tmp_path: Path) -> None:
    assert nlu_report.main([str(tmp_path)]) == 1
