// --help that fits the terminal: CLI11's formatter with every description word-wrapped to the
// width (the terminal's, or 100 columns when the help is piped), continuation lines indented
// under the description column.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace natten::app {

class WrappingFormatter : public CLI::Formatter {
 public:
  WrappingFormatter(std::size_t width, std::size_t name_column);
  std::string make_option(const CLI::Option* opt, bool is_positional) const override;
  std::string make_description(const CLI::App* app) const override;

 private:
  std::size_t width_;
};

// `text` word-wrapped to `width` columns for a column starting at `indent`: the caller has
// positioned the first line there, later lines get `indent` spaces. Line breaks are kept, and a
// line that starts with a space is preformatted (an example command): kept as written.
std::string wrap(const std::string& text, std::size_t width, std::size_t indent);

// Installs the formatter on `app` for stdout's width.
void use_wrapping_help(CLI::App& app, std::size_t name_column = 30);

}  // namespace natten::app
