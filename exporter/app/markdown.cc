#include "app/markdown.h"

#include <cctype>
#include <optional>
#include <vector>

#include "app/html.h"
#include "pgdr/core/strings.h"

namespace pgdr::app {
namespace {

// Inline markup of one block's text.
std::string Inline(std::string_view s, const LinkMapper& link) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '`') {
      const size_t end = s.find('`', i + 1);
      if (end != std::string_view::npos) {
        out += "<code>" + HtmlEscape(s.substr(i + 1, end - i - 1)) + "</code>";
        i = end + 1;
        continue;
      }
    } else if (c == '*' && s.substr(i, 2) == "**") {
      const size_t end = s.find("**", i + 2);
      if (end != std::string_view::npos) {
        out += "<strong>" + Inline(s.substr(i + 2, end - i - 2), link) + "</strong>";
        i = end + 2;
        continue;
      }
    } else if ((c == '*' || c == '_') && i + 1 < s.size() && s[i + 1] != ' ' &&
               (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1])))) {
      const size_t end = s.find(c, i + 1);
      if (end != std::string_view::npos && end > i + 1) {
        out += "<em>" + Inline(s.substr(i + 1, end - i - 1), link) + "</em>";
        i = end + 1;
        continue;
      }
    } else if (c == '[') {
      const size_t close = s.find("](", i + 1);
      const size_t end = close == std::string_view::npos ? close : s.find(')', close + 2);
      if (end != std::string_view::npos) {
        const std::string text = Inline(s.substr(i + 1, close - i - 1), link);
        const std::string href = link(s.substr(close + 2, end - close - 2));
        out += href.empty() ? text : "<a href=\"" + HtmlEscape(href) + "\">" + text + "</a>";
        i = end + 1;
        continue;
      }
    }
    out += HtmlEscape(s.substr(i, 1));
    ++i;
  }
  return out;
}

struct ListItem {
  size_t indent;
  bool ordered;
};

// A list marker ("- ", "* ", "12. ") after `indent` spaces; the item's text.
std::optional<std::pair<ListItem, std::string_view>> ParseItem(std::string_view line) {
  size_t indent = 0;
  while (indent < line.size() && line[indent] == ' ') ++indent;
  std::string_view rest = line.substr(indent);
  if (rest.size() >= 2 && (rest[0] == '-' || rest[0] == '*') && rest[1] == ' ') {
    return std::pair{ListItem{indent, false}, rest.substr(2)};
  }
  size_t digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  if (digits > 0 && rest.substr(digits, 2) == ". ") {
    return std::pair{ListItem{indent, true}, rest.substr(digits + 2)};
  }
  return std::nullopt;
}

std::vector<std::string_view> Cells(std::string_view row) {
  row = core::Trim(row);
  if (row.starts_with('|')) row.remove_prefix(1);
  if (row.ends_with('|')) row.remove_suffix(1);
  std::vector<std::string_view> cells;
  size_t start = 0;
  while (true) {
    const size_t bar = row.find('|', start);
    cells.push_back(core::Trim(row.substr(start, bar - start)));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return cells;
}

bool IsTableSeparator(std::string_view line) {
  line = core::Trim(line);
  return line.starts_with('|') && line.find_first_not_of("|-: ") == std::string_view::npos;
}

class Renderer {
 public:
  explicit Renderer(const LinkMapper& link) : link_(link) {}

  std::string Render(std::string_view markdown) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start <= markdown.size()) {
      size_t nl = markdown.find('\n', start);
      if (nl == std::string_view::npos) nl = markdown.size();
      std::string_view line = markdown.substr(start, nl - start);
      if (line.ends_with('\r')) line.remove_suffix(1);
      lines.push_back(line);
      start = nl + 1;
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string_view line = lines[i];
      const std::string_view trimmed = core::Trim(line);
      if (trimmed.empty()) {
        FlushText();
        continue;
      }
      if (trimmed.starts_with("```")) {
        CloseAll();
        const std::string_view lang = core::Trim(trimmed.substr(3));
        out_ += lang.empty() ? "<pre><code>"
                             : "<pre><code class=\"language-" + HtmlEscape(lang) + "\">";
        for (++i; i < lines.size() && !core::Trim(lines[i]).starts_with("```"); ++i) {
          out_ += HtmlEscape(lines[i]) + "\n";
        }
        out_ += "</code></pre>\n";
        continue;
      }
      if (line.starts_with('#')) {
        size_t level = line.find_first_not_of('#');
        if (level != std::string_view::npos && level <= 6 && line[level] == ' ') {
          CloseAll();
          const std::string n = std::to_string(level);
          out_ +=
              "<h" + n + ">" + Inline(core::Trim(line.substr(level)), link_) + "</h" + n + ">\n";
          continue;
        }
      }
      if (trimmed.starts_with('|') && i + 1 < lines.size() && IsTableSeparator(lines[i + 1])) {
        CloseAll();
        Table(lines, i);
        continue;
      }
      if (auto item = ParseItem(line)) {
        Item(item->first, item->second);
        continue;
      }
      if (!lists_.empty() && line.starts_with(' ')) {
        text_ += " " + std::string(trimmed);  // continuation of the list item
        continue;
      }
      if (!lists_.empty()) CloseLists();
      if (!text_.empty()) text_ += " ";
      text_ += trimmed;
    }
    CloseAll();
    return out_;
  }

 private:
  void Table(const std::vector<std::string_view>& lines, size_t& i) {
    out_ += "<table><thead><tr>";
    for (const auto cell : Cells(lines[i])) out_ += "<th>" + Inline(cell, link_) + "</th>";
    out_ += "</tr></thead><tbody>\n";
    for (i += 2; i < lines.size() && core::Trim(lines[i]).starts_with('|'); ++i) {
      out_ += "<tr>";
      for (const auto cell : Cells(lines[i])) out_ += "<td>" + Inline(cell, link_) + "</td>";
      out_ += "</tr>\n";
    }
    out_ += "</tbody></table>\n";
    --i;
  }

  void Item(ListItem item, std::string_view text) {
    FlushText();
    while (!lists_.empty() && lists_.back().indent > item.indent) CloseList();
    if (!lists_.empty() && lists_.back().indent == item.indent &&
        lists_.back().ordered != item.ordered) {
      CloseList();
    }
    if (lists_.empty() || lists_.back().indent < item.indent) {
      out_ += item.ordered ? "<ol>\n" : "<ul>\n";
      lists_.push_back(item);
    } else {
      out_ += "</li>\n";
    }
    out_ += "<li>";
    text_ = text;
  }

  // The pending paragraph or list item text.
  void FlushText() {
    if (text_.empty()) return;
    out_ += lists_.empty() ? "<p>" + Inline(text_, link_) + "</p>\n" : Inline(text_, link_);
    text_.clear();
  }

  void CloseList() {
    FlushText();
    out_ += lists_.back().ordered ? "</li>\n</ol>\n" : "</li>\n</ul>\n";
    lists_.pop_back();
  }

  void CloseLists() {
    FlushText();
    while (!lists_.empty()) CloseList();
  }

  void CloseAll() { CloseLists(); }

  const LinkMapper& link_;
  std::string out_;
  std::string text_;
  std::vector<ListItem> lists_;
};

}  // namespace

std::string MarkdownToHtml(std::string_view markdown, const LinkMapper& link) {
  return Renderer(link).Render(markdown);
}

}  // namespace pgdr::app
