// The loader's entry points: text (or a file) → positioned tree → document structure
// (version, sections, main) → validated steps → cross-references → Document or errors.
#include "swmld/swml/loader.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "diagnostics.hpp"
#include "step_parser.hpp"
#include "value_checks.hpp"
#include "yaml_tree.hpp"

namespace swmld::swml {
namespace {

using detail::Diagnostics;
using detail::Node;

// Document structure around the steps (reference §1.1): returns the sections to parse.
void load_structure(const Node& root, Diagnostics& diag, detail::StepParser& steps,
                    Document& doc) {
  const Node* sections = nullptr;
  if (root.is_sequence()) {
    // Short form: a bare list of steps is the `main` section.
    sections = nullptr;
    if (root.items.empty()) {
      diag.add(ErrorCode::section_code_missing, "section 'main' has no steps", root);
      return;
    }
    doc.sections.emplace_back("main", steps.parse_section("main", root));
    return;
  }
  if (!root.is_mapping()) {
    diag.add(ErrorCode::element_wrong_type,
             "a SWML document must be a mapping with 'sections' (or a list of steps), not " +
                 std::string(detail::describe(root)),
             root);
    return;
  }
  const detail::MapEntry* sections_entry = nullptr;
  for (const auto& e : root.entries) {
    if (e.key == "version") {
      if (!e.value->is_string() || e.value->str() != "1.0.0") {
        std::string got = e.value->is_string() ? detail::quote_text(e.value->str())
                                               : detail::to_value(*e.value).dump();
        diag.add(ErrorCode::version_invalid,
                 "unsupported version " + got + " (the only SWML version is \"1.0.0\")",
                 *e.value);
      } else {
        doc.version = e.value->str();
      }
    } else if (e.key == "sections") {
      sections_entry = &e;
    } else {
      static constexpr std::string_view known[] = {"version", "sections"};
      std::string hint = detail::closest(e.key, known);
      diag.add(ErrorCode::element_undefined,
               "unknown top-level element " + detail::quote_text(e.key) +
                   (hint.empty() ? " (a document has only 'version' and 'sections')"
                                 : " (did you mean '" + hint + "'?)"),
               e);
    }
  }
  if (!sections_entry) {
    diag.add(ErrorCode::sections_missing, "the document has no 'sections'", root);
    return;
  }
  sections = sections_entry->value.get();
  if (!sections->is_mapping()) {
    diag.add(ErrorCode::element_wrong_type,
             "'sections' must be a mapping of section names to step lists, not " +
                 std::string(detail::describe(*sections)),
             *sections);
    return;
  }
  for (const auto& s : sections->entries) {
    if (!s.value->is_sequence()) {
      std::string msg = "section '" + s.key + "' must be a list of steps, not " +
                        std::string(detail::describe(*s.value));
      if (s.value->is_null())
        diag.add(ErrorCode::section_code_missing, "section '" + s.key + "' has no steps", s);
      else
        diag.add(ErrorCode::element_wrong_type, std::move(msg), *s.value);
      continue;
    }
    if (s.value->items.empty()) {
      diag.add(ErrorCode::section_code_missing, "section '" + s.key + "' has no steps", s);
      // Still registered, so that an execute to it is not reported a second time.
      doc.sections.emplace_back(s.key, std::make_shared<const Block>());
      continue;
    }
    doc.sections.emplace_back(s.key, steps.parse_section(s.key, *s.value));
  }
  if (!sections->find("main"))
    diag.add(ErrorCode::main_section_missing,
             "the document has no 'main' section (execution starts there)", *sections_entry);
}

// Errors in document order; the parse phase and the cross-checks add them out of order.
void sort_errors(std::vector<Error>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const Error& a, const Error& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
}

Result<DocumentPtr> finish(std::vector<Error> errors, std::shared_ptr<Document> doc,
                           std::vector<Error>* all_errors) {
  sort_errors(errors);
  if (all_errors) all_errors->insert(all_errors->end(), errors.begin(), errors.end());
  if (!errors.empty()) return errors.front();
  return DocumentPtr(std::move(doc));
}

}  // namespace

Result<DocumentPtr> load_document(std::string_view text, const LoadOptions& options,
                                  std::vector<Error>* all_errors) {
  const std::string& source = options.source_name;
  std::vector<Error> errors;
  if (text.size() > options.max_bytes) {
    errors.push_back(make_error(ErrorCode::parse_error,
                                "the document is " + std::to_string(text.size()) +
                                    " bytes; the limit is " + std::to_string(options.max_bytes),
                                SourcePos{source, 0, 0}));
    return finish(std::move(errors), nullptr, all_errors);
  }
  std::vector<Error> problems;
  auto tree = detail::parse_tree(text, source, detail::TreeLimits{}, problems);
  if (!tree) {
    errors.push_back(tree.error());
    return finish(std::move(errors), nullptr, all_errors);
  }
  const Node& root = **tree;
  if (root.is_null()) {
    errors.push_back(make_error(ErrorCode::parse_error, "the document is empty",
                                SourcePos{source, root.line > 0 ? root.line : 1,
                                          root.column > 0 ? root.column : 1}));
    return finish(std::move(errors), nullptr, all_errors);
  }

  auto doc = std::make_shared<Document>();
  doc->source = source;
  Diagnostics diag(source);
  for (auto& p : problems) diag.add(std::move(p));
  try {
    detail::StepParser steps(diag, options.max_nesting);
    load_structure(root, diag, steps, *doc);
    steps.check_references(*doc);
  } catch (const std::exception& e) {
    // Nothing above should throw on any input; this keeps a bug from taking the server down.
    diag.add(ErrorCode::parse_internal_error, std::string("internal error while validating: ") + e.what(),
             SourcePos{source, 0, 0});
  }
  return finish(std::move(diag.errors()), std::move(doc), all_errors);
}

bool has_document_shape(std::string_view text) {
  if (text.size() > LoadOptions{}.max_bytes) return false;
  std::vector<Error> problems;
  auto tree = detail::parse_tree(text, "", detail::TreeLimits{}, problems);
  if (!tree) return false;
  const Node& root = **tree;
  return (root.is_mapping() && root.find("sections")) || root.is_sequence();
}

Result<DocumentPtr> load_file(const std::string& path, std::vector<Error>* all_errors) {
  LoadOptions options;
  options.source_name = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    Error e = make_error(ErrorCode::parse_error, "is a directory, not a SWML file", SourcePos{path, 0, 0});
    if (all_errors) all_errors->push_back(e);
    return e;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e = make_error(ErrorCode::parse_error, "cannot read the file", SourcePos{path, 0, 0});
    if (all_errors) all_errors->push_back(e);
    return e;
  }
  // Read at most one byte past the limit: enough to tell that the file is too big.
  std::string text(options.max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    Error e = make_error(ErrorCode::parse_error, "cannot read the file", SourcePos{path, 0, 0});
    if (all_errors) all_errors->push_back(e);
    return e;
  }
  return load_document(text, options, all_errors);
}

}  // namespace swmld::swml
