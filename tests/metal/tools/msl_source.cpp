#include "msl_source.hpp"

#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace natten_msl {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> tokenize(const std::string& src) {
  std::vector<std::string> out;
  std::size_t i = 0;
  const std::size_t n = src.size();
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  while (i < n) {
    const char c = src[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '/') {
      while (i < n && src[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
      const std::size_t e = src.find("*/", i + 2);
      i = e == std::string::npos ? n : e + 2;
    } else if (c == '#') {  // preprocessor line: skip (continuations included)
      while (i < n && src[i] != '\n') i += (src[i] == '\\' && i + 1 < n) ? 2 : 1;
    } else if (c == '"' || c == '\'') {
      std::size_t j = i + 1;
      while (j < n && src[j] != c) j += (src[j] == '\\') ? 2 : 1;
      out.push_back(src.substr(i, j + 1 - i));
      i = j + 1;
    } else if (ident(c)) {
      std::size_t j = i;
      while (j < n && (ident(src[j]) || (std::isdigit(static_cast<unsigned char>(c)) != 0 && src[j] == '.'))) ++j;
      out.push_back(src.substr(i, j - i));
      i = j;
    } else if (c == ':' && i + 1 < n && src[i + 1] == ':') {
      out.emplace_back("::");
      i += 2;
    } else {
      out.emplace_back(1, c);
      ++i;
    }
  }
  return out;
}

namespace {

bool is_ident(const std::string& t) {
  return !t.empty() && (std::isalpha(static_cast<unsigned char>(t[0])) != 0 || t[0] == '_');
}

std::string join(const std::vector<std::string>& toks, std::size_t b, std::size_t e) {
  std::string s;
  for (std::size_t i = b; i < e; ++i) {
    const bool glue = toks[i] == "*" || toks[i] == "&" || (i > b && (toks[i - 1] == "::" || toks[i] == "::"));
    if (!s.empty() && !glue) s += ' ';
    s += toks[i];
  }
  return s;
}

// Index of the token closing the bracket opened at `open`.
std::size_t matching(const std::vector<std::string>& t, std::size_t open) {
  const std::string o = t[open];
  const std::string c = o == "(" ? ")" : (o == "[" ? "]" : "}");
  int depth = 0;
  for (std::size_t i = open; i < t.size(); ++i) {
    if (t[i] == o) ++depth;
    if (t[i] == c && --depth == 0) return i;
  }
  throw std::runtime_error("unbalanced '" + o + "'");
}

KernelParam parse_param(const std::vector<std::string>& t, std::size_t b, std::size_t e, const std::string& kernel) {
  KernelParam p;
  std::size_t attr = e;
  for (std::size_t i = b; i + 1 < e; ++i) {
    if (t[i] == "[" && t[i + 1] == "[") {
      attr = i;
      break;
    }
  }
  if (attr == e || attr + 2 >= e) throw std::runtime_error("kernel " + kernel + ": a parameter has no [[attribute]]");
  p.attribute = t[attr + 2];
  if (attr + 3 < e && t[attr + 3] == "(") p.index = std::stoi(t[attr + 4]);
  if (attr < b + 2 || !is_ident(t[attr - 1])) throw std::runtime_error("kernel " + kernel + ": unreadable parameter");
  p.name = t[attr - 1];
  p.type = join(t, b, attr - 1);
  return p;
}

}  // namespace

std::vector<KernelSignature> parse_kernels(const std::string& source) {
  const std::vector<std::string> t = tokenize(source);
  std::vector<KernelSignature> out;
  for (std::size_t i = 0; i + 3 < t.size(); ++i) {
    if (t[i] != "kernel" || t[i + 1] != "void" || !is_ident(t[i + 2]) || t[i + 3] != "(") continue;
    KernelSignature k;
    k.name = t[i + 2];
    const std::size_t close = matching(t, i + 3);
    std::size_t start = i + 4;
    int depth = 0;
    for (std::size_t j = i + 4; j <= close; ++j) {
      if (t[j] == "(" || t[j] == "[") ++depth;
      if ((t[j] == ")" || t[j] == "]") && j != close) --depth;
      if ((t[j] == "," && depth == 0) || j == close) {
        if (j > start) k.params.push_back(parse_param(t, start, j, k.name));
        start = j + 1;
      }
    }
    out.push_back(k);
    i = close;
  }
  return out;
}

std::vector<std::string> lint(const std::string& source) {
  const std::vector<std::string> t = tokenize(source);
  std::vector<std::string> findings;
  static const std::set<std::string> keywords = {"if", "for", "while", "switch", "return", "sizeof", "do", "else"};
  // Function definitions: identifier '(' ... ')' [const] '{' at brace depth 0.
  std::map<std::string, std::set<std::string>> calls;
  int depth = 0;
  std::string current;
  bool statement_start = true;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string& tok = t[i];
    if (tok == "double") findings.push_back("uses 'double' (no double precision on Apple GPUs)");
    if (tok == "std" && i + 1 < t.size() && t[i + 1] == "::") findings.push_back("uses 'std::' (not part of MSL)");
    if (depth == 0 && is_ident(tok) && keywords.count(tok) == 0 && i + 1 < t.size() && t[i + 1] == "(") {
      const std::size_t close = matching(t, i + 1);
      std::size_t after = close + 1;
      while (after < t.size() && (t[after] == "const" || t[after] == "[")) {
        after = t[after] == "[" ? matching(t, after) + 1 : after + 1;
      }
      if (after < t.size() && t[after] == "{") {
        current = tok;
        calls[current];
        i = after - 1;  // the '{' is processed next
        continue;
      }
    }
    if (depth > 0 && statement_start && tok == "threadgroup") {
      // `threadgroup T name` declares an object: per-thread under a C++ compiler, shared on the GPU.
      std::size_t j = i + 1;
      while (j < t.size() && (t[j] == "const" || t[j] == "volatile")) ++j;
      if (j + 1 < t.size() && is_ident(t[j]) && is_ident(t[j + 1])) {
        findings.push_back("function '" + current + "' declares threadgroup variable '" + t[j + 1] +
                           "' (pass threadgroup memory as a [[threadgroup(n)]] kernel parameter)");
      }
    }
    if (depth > 0 && is_ident(tok) && i + 1 < t.size() && (t[i + 1] == "(" || t[i + 1] == "<")) calls[current].insert(tok);
    if (tok == "{") ++depth;
    if (tok == "}" && --depth == 0) current.clear();
    statement_start = tok == ";" || tok == "{" || tok == "}" || tok == ")";
  }
  // Recursion: a cycle in the call graph restricted to functions defined here.
  std::map<std::string, int> mark;  // 0 new, 1 on stack, 2 done
  std::function<void(const std::string&, std::vector<std::string>&)> visit = [&](const std::string& f,
                                                                                 std::vector<std::string>& path) {
    mark[f] = 1;
    path.push_back(f);
    for (const std::string& g : calls[f]) {
      if (calls.count(g) == 0) continue;
      if (mark[g] == 1) {
        std::string cycle;
        for (const std::string& s : path) cycle += s + " -> ";
        findings.push_back("recursion: " + cycle + g);
      } else if (mark[g] == 0) {
        visit(g, path);
      }
    }
    path.pop_back();
    mark[f] = 2;
  };
  for (const auto& [f, unused] : calls) {
    std::vector<std::string> path;
    if (mark[f] == 0) visit(f, path);
  }
  return findings;
}

}  // namespace natten_msl
