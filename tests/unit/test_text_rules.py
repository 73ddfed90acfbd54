"""The text rules as patterns (flowgen.text_rules): what they match, and that the scan of every
code point behind them is made once per process. The OpenAPI document patterns five fields with
them; scanned for each, the document took 4.5 s of CPU on the api's cold path and /openapi.json
passed the function's 10 s timeout on a loaded machine (the fuzz suite could not load it)."""

from __future__ import annotations

import re
import time

from flowgen.text_rules import language_pattern, visible_prompt_pattern


def test_the_patterns_match_what_the_rules_accept() -> None:
    three, one = re.compile(visible_prompt_pattern()), re.compile(visible_prompt_pattern(1))
    assert three.match("Rust") and three.match("\u200b\u200bR u s")
    assert not three.match("R\u200b \u200bu") and not three.match("   ")
    assert one.match("\u00a0x") and not one.match("\u200b\u00a0")
    language = re.compile(language_pattern())
    assert language.fullmatch("Portuguese (Brazil)") and language.fullmatch("日本語")
    assert not language.fullmatch("1337") and not language.fullmatch("x")


def test_the_code_point_scans_are_made_once_per_process() -> None:
    visible_prompt_pattern(), language_pattern()  # the first calls scan
    started = time.process_time()
    for _ in range(5):  # as many as the OpenAPI document asks for, and more
        visible_prompt_pattern()
        visible_prompt_pattern(1)
        language_pattern()
    assert time.process_time() - started < 0.1  # one scan alone is about 0.6 s of CPU
