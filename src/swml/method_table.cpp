// The data of every SWML calling method: property names, types, enums and ranges, taken from
// swml-reference.md §9, the official JSON Schema (tests/schema) and, where they are newer,
// SignalWire's current method pages (docs/swml-coverage.md lists those). Behaviour lives
// elsewhere.
#include "swmld/swml/method_table.hpp"

#include <vector>

namespace swmld::swml {
namespace {

// Types used over and over: a typed value or a `${...}` expression is accepted everywhere
// (the schema's SWMLVar), so only the JSON type is listed here.
constexpr std::uint8_t t_str = t_string;
constexpr std::uint8_t t_int = t_integer;
constexpr std::uint8_t t_num = t_number;
constexpr std::uint8_t t_bool = t_boolean;
constexpr std::uint8_t t_obj = t_object;
constexpr std::uint8_t t_arr = t_array;

constexpr PropSpec p(std::string_view name, std::uint8_t types, bool required = false) {
  PropSpec s;
  s.name = name;
  s.types = types;
  s.required = required;
  return s;
}
constexpr PropSpec e(std::string_view name, std::string_view enums, bool required = false) {
  PropSpec s = p(name, t_str, required);
  s.enums = enums;
  return s;
}
constexpr PropSpec r(std::string_view name, std::uint8_t types, double min, double max) {
  PropSpec s = p(name, types);
  s.min = min;
  s.max = max;
  return s;
}
constexpr PropSpec c(std::string_view name, std::uint8_t types, Check check, bool required = false) {
  PropSpec s = p(name, types, required);
  s.check = check;
  return s;
}
constexpr double inf = std::numeric_limits<double>::infinity();

// TTS voice settings shared by play and prompt.
#define SWMLD_SAY_PROPS p("say_voice", t_str), p("say_language", t_str), p("say_gender", t_str)

constexpr PropSpec answer_props[] = {
    p("max_duration", t_int), p("codecs", t_str), p("username", t_str), p("password", t_str)};

constexpr PropSpec hangup_props[] = {e("reason", "hangup,busy,decline")};

constexpr PropSpec play_props[] = {
    c("url", t_str, Check::sound),    c("urls", t_arr, Check::sounds),
    p("auto_answer", t_bool),         r("volume", t_num, -40, 40),
    SWMLD_SAY_PROPS,                  p("status_url", t_str)};

constexpr PropSpec prompt_props[] = {
    c("play", t_str | t_arr, Check::sound_or_sounds, true),
    r("volume", t_num, -40, 40),
    SWMLD_SAY_PROPS,
    r("max_digits", t_int, 1, inf),
    p("terminators", t_str),
    r("digit_timeout", t_num, 0, inf),
    r("initial_timeout", t_num, 0, inf),
    r("speech_timeout", t_num, 0, inf),
    r("speech_end_timeout", t_num, 0, inf),
    p("speech_language", t_str),
    c("speech_hints", t_arr, Check::string_list),
    p("speech_engine", t_str),
    p("status_url", t_str)};

constexpr PropSpec execute_props[] = {
    c("dest", t_str, Check::dest, true), p("params", t_obj), p("meta", t_obj),
    c("on_return", t_arr, Check::steps), c("result", t_obj | t_arr, Check::result)};

constexpr PropSpec transfer_props[] = {
    c("dest", t_str, Check::dest, true), p("params", t_obj), p("meta", t_obj)};

constexpr PropSpec goto_props[] = {
    c("label", t_str, Check::label_ref, true), p("when", t_str), r("max", t_int, 1, 100)};

constexpr PropSpec switch_props[] = {
    c("variable", t_str, Check::var_path, true), c("case", t_obj, Check::cases, true),
    c("default", t_arr, Check::steps)};

constexpr PropSpec if_props[] = {
    p("condition", t_str, true), c("then", t_arr, Check::steps, true),
    c("else", t_arr, Check::steps)};

constexpr PropSpec sleep_required[] = {[] {
  PropSpec s = r("duration", t_int, -1, inf);
  s.required = true;
  return s;
}()};

constexpr PropSpec request_props[] = {
    p("url", t_str, true),      e("method", "GET,POST,PUT,DELETE", true),
    p("headers", t_obj),        p("body", t_str | t_obj),
    r("timeout", t_num, 0, inf), r("connect_timeout", t_num, 0, inf),
    p("save_variables", t_bool)};

constexpr PropSpec send_digits_props[] = {c("digits", t_str, Check::digits, true)};

constexpr PropSpec record_props[] = {
    p("stereo", t_bool),          e("format", "wav,mp3,mp4"),
    e("direction", "speak,listen"), p("terminators", t_str),
    p("beep", t_bool),            r("input_sensitivity", t_num, 0, 100),
    r("initial_timeout", t_num, 0, inf), r("end_silence_timeout", t_num, 0, inf),
    r("max_length", t_num, 0, inf), p("status_url", t_str)};

constexpr PropSpec record_call_props[] = {
    p("control_id", t_str),       p("stereo", t_bool),
    e("format", "wav,mp3,mp4"),   e("direction", "speak,listen,both"),
    p("terminators", t_str),      p("beep", t_bool),
    r("input_sensitivity", t_num, 0, 100), r("initial_timeout", t_num, 0, inf),
    r("end_silence_timeout", t_num, 0, inf), r("max_length", t_num, 0, inf),
    p("status_url", t_str)};

constexpr PropSpec control_id_props[] = {p("control_id", t_str)};

// Connect-level properties that also apply per destination (schema ConnectDeviceSingle).
#define SWMLD_CONNECT_COMMON                                                                   \
  p("from", t_str), p("from_name", t_str), c("headers", t_arr, Check::name_value_list),       \
      p("codecs", t_str), p("webrtc_media", t_bool), r("session_timeout", t_int, 1, inf),      \
      c("ringback", t_arr, Check::sounds), r("timeout", t_int, 0, inf),                         \
      r("max_duration", t_int, 0, inf), p("answer_on_bridge", t_bool),                          \
      c("confirm", t_str | t_arr, Check::confirm), r("confirm_timeout", t_int, 0, inf),         \
      p("username", t_str), p("password", t_str), e("encryption", "mandatory,optional,forbidden"), \
      p("call_state_url", t_str), p("transfer_after_bridge", t_str),                            \
      [] {                                                                                      \
        PropSpec s = c("call_state_events", t_arr, Check::enum_list);                           \
        s.enums = "created,ringing,answered,ended";                                             \
        return s;                                                                               \
      }(),                                                                                      \
      p("status_url", t_str)

// Stream destinations (`to: stream:wss://...`). connect/index.mdx documents them on a single
// `to` as well as per destination; they are accepted at the top level whatever the mode.
#define SWMLD_CONNECT_STREAM                                                                   \
  p("name", t_str), p("codec", t_str), p("realtime", t_bool),                                  \
      e("status_url_method", "GET,POST"), p("authorization_bearer_token", t_str),              \
      p("custom_parameters", t_obj)

constexpr PropSpec connect_props[] = {
    SWMLD_CONNECT_COMMON,
    SWMLD_CONNECT_STREAM,
    c("result", t_obj | t_arr, Check::result),
    p("to", t_str),
    c("serial", t_arr, Check::destinations),
    c("parallel", t_arr, Check::destinations),
    c("serial_parallel", t_arr, Check::destination_groups)};

constexpr PropSpec connect_dest_props[] = {
    SWMLD_CONNECT_COMMON,
    c("result", t_obj | t_arr, Check::result),
    p("to", t_str, true),
    SWMLD_CONNECT_STREAM};

constexpr PropSpec user_event_props[] = {p("event", t_obj, true)};

constexpr PropSpec tap_props[] = {
    p("uri", t_str, true),       p("control_id", t_str), e("direction", "speak,listen,both"),
    e("codec", "PCMU,PCMA"),      r("rtp_ptime", t_int, 1, inf), p("status_url", t_str)};

constexpr PropSpec detect_machine_props[] = {
    p("detect_message_end", t_bool),
    p("detectors", t_str),
    r("end_silence_timeout", t_num, 0, inf),
    r("initial_timeout", t_num, 0, inf),
    r("machine_ready_timeout", t_num, 0, inf),
    r("machine_voice_threshold", t_num, 0, inf),
    r("machine_words_threshold", t_int, 0, inf),
    p("status_url", t_str),
    r("timeout", t_num, 0, inf),
    e("tone", "CED,CNG"),
    p("wait", t_bool)};

constexpr PropSpec sip_refer_props[] = {
    p("to_uri", t_str, true), p("status_url", t_str), p("username", t_str), p("password", t_str)};

constexpr PropSpec send_sms_props[] = {
    p("to_number", t_str, true), p("from_number", t_str, true), p("region", t_str),
    c("tags", t_arr, Check::string_list), p("body", t_str), c("media", t_arr, Check::string_list),
    p("status_callback", t_str)};

constexpr PropSpec send_fax_props[] = {
    p("document", t_str, true), p("header_info", t_str), p("identity", t_str),
    p("status_url", t_str)};

constexpr PropSpec status_url_props[] = {p("status_url", t_str)};

constexpr PropSpec stream_props[] = {
    p("url", t_str, true),         p("control_id", t_str), p("name", t_str),
    p("track", t_str),             p("codec", t_str),      p("realtime", t_bool),
    p("status_url", t_str),        e("status_url_method", "GET,POST"),
    p("authorization_bearer_token", t_str), p("custom_parameters", t_obj)};

constexpr PropSpec live_action_props[] = {
    c("action", t_str | t_obj, Check::transcribe_action, true)};

constexpr PropSpec join_room_props[] = {p("name", t_str, true)};

// join_conference.mdx "join_conference.stream" (specs JoinConferenceStream).
constexpr PropSpec conference_stream_props_[] = {
    p("url", t_str, true),        p("name", t_str),     p("codec", t_str),
    p("status_url", t_str),       e("status_url_method", "GET,POST"),
    p("realtime", t_bool),        p("authorization_bearer_token", t_str),
    p("custom_parameters", t_obj)};

// A string of space-separated events, each one of `enums`.
constexpr PropSpec event_words(std::string_view name, std::string_view enums) {
  PropSpec s = c(name, t_str, Check::enum_words);
  s.enums = enums;
  return s;
}

constexpr PropSpec join_conference_props[] = {
    p("name", t_str, true),
    p("muted", t_bool),
    // The schema lists the strings "true"/"false"; a YAML boolean means the same.
    [] {
      PropSpec s = e("beep", "true,false,onEnter,onExit");
      s.types = t_str | t_bool;
      return s;
    }(),
    p("start_on_enter", t_bool),
    p("end_on_exit", t_bool),
    p("wait_url", t_str),
    r("max_participants", t_int, 2, 100000),
    e("record", "do-not-record,record-from-start"),
    p("region", t_str),
    e("trim", "trim-silence,do-not-trim"),
    p("coach", t_str),
    // The page documents both event properties as space-separated lists ("start end join").
    event_words("status_callback_event",
                "start,end,join,leave,mute,hold,modify,speaker,announcement"),
    e("status_callback_event_type", "cxml,laml,relay"),
    p("status_callback", t_str),
    e("status_callback_method", "GET,POST"),
    p("recording_status_callback", t_str),
    e("recording_status_callback_method", "GET,POST"),
    event_words("recording_status_callback_event", "in-progress,completed,absent"),
    e("recording_status_callback_event_type", "cxml,laml,relay"),
    c("result", t_obj | t_arr, Check::result),
    c("stream", t_obj, Check::conference_stream)};

constexpr PropSpec enter_queue_props[] = {
    p("queue_name", t_str, true), p("transfer_after_bridge", t_str, true),
    p("status_url", t_str),       p("wait_url", t_str),
    r("wait_time", t_int, 1, inf)};

constexpr PropSpec pay_props[] = {
    p("payment_connector_url", t_str, true),
    p("charge_amount", t_str),
    p("currency", t_str),
    p("description", t_str),
    e("input", "dtmf"),
    p("language", t_str),
    r("max_attempts", t_int, 1, inf),
    r("min_postal_code_length", t_int, 0, inf),
    c("parameters", t_arr, Check::name_value_list),
    e("payment_method", "credit-card"),
    p("postal_code", t_bool | t_str),
    c("prompts", t_arr, Check::object_list),
    p("security_code", t_bool),
    p("status_url", t_str),
    r("timeout", t_int, 1, inf),
    e("token_type", "one-time,reusable"),
    p("valid_card_types", t_str),
    p("voice", t_str)};

// AI agents: only the top level is checked; their sub-objects are large and evolve quickly.
constexpr PropSpec ai_props[] = {
    p("prompt", t_obj, true),   p("global_data", t_obj), c("hints", t_arr, Check::none),
    c("languages", t_arr, Check::object_list), p("multilingual", t_obj), p("params", t_obj),
    p("post_prompt", t_obj),
    p("post_prompt_url", t_str), c("pronounce", t_arr, Check::object_list), p("SWAIG", t_obj)};

constexpr PropSpec amazon_bedrock_props[] = {
    p("prompt", t_obj, true), p("global_data", t_obj), p("params", t_obj),
    p("post_prompt", t_obj),  p("post_prompt_url", t_str), p("SWAIG", t_obj)};

#undef SWMLD_SAY_PROPS
#undef SWMLD_CONNECT_COMMON
#undef SWMLD_CONNECT_STREAM

template <std::size_t N>
constexpr std::span<const PropSpec> props(const PropSpec (&a)[N]) {
  return {a, N};
}
constexpr std::span<const PropSpec> none{};

MethodSpec object_method(std::string_view name, std::span<const PropSpec> ps,
                         std::string_view string_prop = {}, std::string_view array_prop = {}) {
  return MethodSpec{name, ArgsShape::object, ps, string_prop, array_prop, false};
}
MethodSpec shaped(std::string_view name, ArgsShape shape, std::span<const PropSpec> ps = none) {
  return MethodSpec{name, shape, ps, {}, {}, false};
}

const std::vector<MethodSpec>& table() {
  static const std::vector<MethodSpec> methods = {
      object_method("answer", props(answer_props)),
      object_method("hangup", props(hangup_props)),
      object_method("play", props(play_props), "url", "urls"),
      object_method("prompt", props(prompt_props), "play", "play"),
      object_method("execute", props(execute_props), "dest"),
      shaped("return", ArgsShape::any),
      object_method("transfer", props(transfer_props), "dest"),
      object_method("goto", props(goto_props)),
      shaped("label", ArgsShape::label),
      shaped("cond", ArgsShape::cond),
      shaped("if", ArgsShape::if_, props(if_props)),
      object_method("switch", props(switch_props)),
      shaped("set", ArgsShape::vars),
      shaped("unset", ArgsShape::names),
      shaped("sleep", ArgsShape::sleep, props(sleep_required)),
      object_method("request", props(request_props)),
      object_method("send_digits", props(send_digits_props), "digits"),
      object_method("record", props(record_props)),
      object_method("record_call", props(record_call_props)),
      object_method("stop_record_call", props(control_id_props)),
      object_method("connect", props(connect_props), "to"),
      object_method("denoise", none),
      object_method("stop_denoise", none),
      object_method("user_event", props(user_event_props)),
      object_method("tap", props(tap_props)),
      object_method("stop_tap", props(control_id_props)),
      object_method("detect_machine", props(detect_machine_props)),
      object_method("sip_refer", props(sip_refer_props), "to_uri"),
      object_method("send_sms", props(send_sms_props)),
      object_method("send_fax", props(send_fax_props), "document"),
      object_method("receive_fax", props(status_url_props)),
      object_method("stream", props(stream_props), "url"),
      object_method("stop_stream", props(control_id_props)),
      object_method("transcribe", props(status_url_props)),
      object_method("transcribe_stop", none),
      object_method("live_transcribe", props(live_action_props)),
      object_method("live_translate", props(live_action_props)),
      object_method("join_room", props(join_room_props), "name"),
      object_method("join_conference", props(join_conference_props), "name"),
      object_method("enter_queue", props(enter_queue_props)),
      object_method("pay", props(pay_props)),
      object_method("ai", props(ai_props)),
      object_method("amazon_bedrock", props(amazon_bedrock_props)),
      // ai_sidecar has no published schema in our copy: accept any properties.
      MethodSpec{"ai_sidecar", ArgsShape::object, none, {}, {}, true},
  };
  return methods;
}

}  // namespace

const MethodSpec* find_method(std::string_view name) {
  if (name.empty()) return nullptr;
  for (const auto& m : table())
    if (m.name == name) return &m;
  return nullptr;
}

std::span<const MethodSpec> all_methods() {
  return {table().data(), table().size()};
}

std::span<const PropSpec> connect_destination_props() { return props(connect_dest_props); }

std::span<const PropSpec> conference_stream_props() { return props(conference_stream_props_); }

bool allowed_in_confirm(std::string_view method) {
  // Schema ValidConfirmMethods, the stream methods the reference lists, and our `if`.
  static constexpr std::string_view allowed[] = {
      "cond",        "set",         "unset",      "hangup",     "play",      "prompt",
      "record",      "record_call", "stop_record_call", "tap", "stop_tap", "stream",
      "stop_stream", "send_digits", "send_sms",   "denoise",    "stop_denoise", "if"};
  for (auto a : allowed)
    if (a == method) return true;
  return false;
}

}  // namespace swmld::swml
