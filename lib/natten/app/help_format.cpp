#include "natten/app/help_format.hpp"

#include <sstream>

#include "natten/app/diagnostics.hpp"

namespace natten::app {

std::string wrap(const std::string& text, std::size_t width, std::size_t indent) {
  std::string out, line;
  std::size_t line_start = indent;  // the first line, too, starts in the indented column
  const auto flush = [&](bool last) {
    out += line;
    if (!last) out += "\n" + std::string(indent, ' ');
    line.clear();
    line_start = indent;
  };
  std::istringstream paragraphs(text);
  std::string para;
  bool first_para = true;
  while (std::getline(paragraphs, para)) {
    if (!first_para) flush(false);
    first_para = false;
    if (!para.empty() && para.front() == ' ') {  // indented: preformatted (examples), kept as written
      line = para;
      continue;
    }
    std::istringstream words(para);
    std::string w;
    while (words >> w) {
      const std::size_t need = line_start + line.size() + (line.empty() ? 0 : 1) + w.size();
      if (!line.empty() && need > width) flush(false);
      line += (line.empty() ? "" : " ") + w;
    }
  }
  out += line;
  return out;
}

WrappingFormatter::WrappingFormatter(std::size_t width, std::size_t name_column) : width_(width) {
  column_width(name_column);
}

std::string WrappingFormatter::make_option(const CLI::Option* opt, bool is_positional) const {
  const std::string name = "  " + make_option_name(opt, is_positional) + make_option_opts(opt);
  const std::string desc = make_option_desc(opt);
  std::string out = name;
  if (desc.empty()) return out + "\n";
  if (name.size() >= column_width_) out += "\n" + std::string(column_width_, ' ');
  else out += std::string(column_width_ - name.size(), ' ');
  const std::size_t text_width = width_ > column_width_ + 20 ? width_ : column_width_ + 20;
  return out + wrap(desc, text_width, column_width_) + "\n";
}

std::string WrappingFormatter::make_description(const CLI::App* app) const {
  const std::string d = app->get_description();
  return d.empty() ? std::string() : wrap(d, width_, 0) + "\n\n";
}

void use_wrapping_help(CLI::App& app, std::size_t name_column) {
  const int columns = terminal_columns(stdout, 100);
  app.formatter(std::make_shared<WrappingFormatter>(static_cast<std::size_t>(columns > 100 ? 100 : columns), name_column));
}

}  // namespace natten::app
