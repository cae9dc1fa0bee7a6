#!/usr/bin/env python3
"""Schema oracle: `swmld check` must agree with SignalWire's official JSON Schema.

Every canonical document under tests/golden/check/valid (all but the `short_*` ones, which
use short forms the schema rejects on purpose) must pass the schema and `swmld check`.
A set of canonical documents the schema rejects (wrong types, unknown properties, missing
required ones, bad enums and ranges) must be rejected by `swmld check` too.

    python3 test_schema_oracle.py --swmld PATH_TO_BINARY
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCHEMA = os.path.join(ROOT, "tests", "schema", "swml-calling.schema.json")
VALID_DIR = os.path.join(ROOT, "tests", "golden", "check", "valid")


def doc(*steps, **sections):
    """A canonical document with `steps` in main (and other sections by name)."""
    all_sections = {"main": list(steps)}
    all_sections.update(sections)
    return {"version": "1.0.0", "sections": all_sections}


# Canonical documents the schema rejects; each name says why.
SCHEMA_INVALID = {
    "unknown_top_level": {"version": "1.0.0", "sections": {"main": [{"answer": {}}]}, "x": 1},
    "no_sections": {"version": "1.0.0"},
    "no_main": {"sections": {"other": [{"answer": {}}]}},
    "section_not_list": {"sections": {"main": {"answer": {}}}},
    "bad_version": {"version": "2.0.0", "sections": {"main": [{"answer": {}}]}},
    "unknown_method": doc({"plya": {"url": "say:hi"}}),
    "two_methods_in_step": doc({"answer": {}, "hangup": {}}),
    "answer_unknown_prop": doc({"answer": {"max_duraton": 10}}),
    "answer_wrong_type": doc({"answer": {"max_duration": "long"}}),
    "hangup_bad_reason": doc({"hangup": {"reason": "bye"}}),
    "play_both_url_and_urls": doc({"play": {"url": "say:a", "urls": ["say:b"]}}),
    "play_neither": doc({"play": {"volume": 1}}),
    "play_bad_sound": doc({"play": {"url": "tts:hello"}}),
    "play_volume_range": doc({"play": {"url": "say:a", "volume": 41}}),
    "play_volume_type": doc({"play": {"url": "say:a", "volume": "loud"}}),
    "play_auto_answer_type": doc({"play": {"url": "say:a", "auto_answer": "yes"}}),
    "prompt_missing_play": doc({"prompt": {"max_digits": 1}}),
    "prompt_max_digits_type": doc({"prompt": {"play": "say:a", "max_digits": "one"}}),
    "execute_missing_dest": doc({"execute": {"params": {}}}),
    "execute_params_type": doc({"execute": {"dest": "https://x.example", "params": [1]}}),
    "transfer_unknown_prop": doc({"transfer": {"dest": "https://x.example", "method": "GET"}}),
    "goto_missing_label": doc({"goto": {"max": 3}}),
    "goto_max_range": doc({"label": "a"}, {"goto": {"label": "a", "max": 101}}),
    "label_type": doc({"label": 5}),
    "cond_not_list": doc({"cond": {"when": "a", "then": []}}),
    "cond_item_unknown_prop": doc({"cond": [{"when": "a", "then": [], "also": []}]}),
    "cond_when_type": doc({"cond": [{"when": 1, "then": []}]}),
    "switch_missing_case": doc({"switch": {"variable": "x"}}),
    "switch_missing_variable": doc({"switch": {"case": {}}}),
    "switch_case_not_steps": doc({"switch": {"variable": "x", "case": {"a": "hangup"}}}),
    "set_not_object": doc({"set": [1, 2]}),
    "unset_number": doc({"unset": 5}),
    "sleep_float": doc({"sleep": 1.5}),
    "sleep_text": doc({"sleep": "long"}),
    "sleep_below_minus_one": doc({"sleep": {"duration": -2}}),
    "request_bad_method": doc({"request": {"url": "https://x.example", "method": "FETCH"}}),
    "request_missing_method": doc({"request": {"url": "https://x.example"}}),
    "send_digits_number": doc({"send_digits": {"digits": 123}}),
    "record_bad_format": doc({"record": {"format": "ogg"}}),
    "record_call_bad_direction": doc({"record_call": {"direction": "sideways"}}),
    "stop_record_call_unknown": doc({"stop_record_call": {"id": "x"}}),
    "connect_no_destination": doc({"connect": {"timeout": 5}}),
    "connect_two_modes": doc({"connect": {"to": "+1555", "serial": [{"to": "+1556"}]}}),
    "connect_dest_missing_to": doc({"connect": {"serial": [{"timeout": 5}]}}),
    "connect_bad_encryption": doc({"connect": {"to": "+1555", "encryption": "always"}}),
    "connect_header_shape": doc({"connect": {"to": "+1555", "headers": [{"name": "X"}]}}),
    "denoise_with_props": doc({"denoise": {"level": 3}}),
    "user_event_missing_event": doc({"user_event": {}}),
    "tap_missing_uri": doc({"tap": {"direction": "both"}}),
    "tap_bad_codec": doc({"tap": {"uri": "rtp://1.2.3.4:5", "codec": "OPUS"}}),
    "detect_machine_bad_tone": doc({"detect_machine": {"tone": "BEEP"}}),
    "detect_machine_negative": doc({"detect_machine": {"timeout": -1}}),
    "sip_refer_missing_to_uri": doc({"sip_refer": {"status_url": "https://x.example"}}),
    "sip_refer_unknown_prop": doc({"sip_refer": {"to_uri": "sip:a@b", "timeout": 5}}),
    "sip_refer_to_uri_type": doc({"sip_refer": {"to_uri": 42}}),
    "send_sms_missing_to": doc({"send_sms": {"from_number": "+1", "body": "x"}}),
    "send_sms_no_body_or_media": doc({"send_sms": {"to_number": "+1", "from_number": "+2"}}),
    "send_fax_missing_document": doc({"send_fax": {"identity": "x"}}),
    "join_room_missing_name": doc({"join_room": {}}),
    "join_conference_bad_record": doc({"join_conference": {"name": "c", "record": "always"}}),
    "join_conference_participants": doc({"join_conference": {"name": "c", "max_participants": 1}}),
    "enter_queue_missing_tab": doc({"enter_queue": {"queue_name": "q"}}),
    "pay_missing_connector": doc({"pay": {"charge_amount": "1.00"}}),
    "pay_bad_token_type": doc({"pay": {"payment_connector_url": "https://x", "token_type": "x"}}),
    "ai_missing_prompt": doc({"ai": {"params": {}}}),
    "ai_unknown_prop": doc({"ai": {"prompt": {"text": "x"}, "model": "x"}}),
    "live_transcribe_missing_action": doc({"live_transcribe": {}}),
    "live_translate_bad_action": doc({"live_translate": {"action": "begin"}}),
    "step_is_list": doc(["answer"]),
    "step_is_number": doc(5),
}


def run_check(swmld, path):
    proc = subprocess.run([swmld, "check", path], capture_output=True, text=True, timeout=30)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def load_any(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f) if path.endswith(".json") else yaml.safe_load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--swmld", required=True)
    args = parser.parse_args()

    with open(SCHEMA, encoding="utf-8") as f:
        validator = jsonschema.Draft202012Validator(json.load(f))
    passed, failed = 0, 0

    def report(ok, name, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name}: {detail}")

    valid = sorted(glob.glob(os.path.join(VALID_DIR, "*.yaml")) +
                   glob.glob(os.path.join(VALID_DIR, "*.json")))
    canonical = [p for p in valid if not os.path.basename(p).startswith("short_")]
    if len(canonical) < 5:
        report(False, "valid documents", f"only {len(canonical)} canonical documents found")
    for path in canonical:
        name = os.path.basename(path)
        errors = list(validator.iter_errors(load_any(path)))
        report(not errors, f"schema accepts {name}", errors[0].message if errors else "")
        code, out = run_check(args.swmld, path)
        report(code == 0 and out == "", f"swmld accepts {name}", f"exit {code}: {out}")

    with tempfile.TemporaryDirectory() as tmp:
        for name, document in SCHEMA_INVALID.items():
            errors = list(validator.iter_errors(document))
            report(bool(errors), f"schema rejects {name}", "the schema accepted it")
            path = os.path.join(tmp, name + ".json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(document, f)
            code, out = run_check(args.swmld, path)
            ok = code == 1 and "relay_script_" in out
            report(ok, f"swmld rejects {name}", f"exit {code}: {out}")

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
