// The runbooks' Markdown subset, and the embedded runbooks themselves.
#include "app/markdown.h"

#include <gtest/gtest.h>

#include "app/runbooks.h"

namespace pgdr::app {
namespace {

std::string Render(const std::string& md) {
  return MarkdownToHtml(md, [](std::string_view target) {
    return target.starts_with("http") ? std::string(target) : std::string();
  });
}

TEST(Markdown, HeadingsParagraphsAndInlineMarkup) {
  EXPECT_EQ(Render("# Title\n\nOne **bold** and `a < b` and *it*\ncontinued.\n"),
            "<h1>Title</h1>\n<p>One <strong>bold</strong> and <code>a &lt; b</code> and "
            "<em>it</em> continued.</p>\n");
}

TEST(Markdown, EscapesHtmlAndMapsLinks) {
  EXPECT_EQ(Render("<script>x</script> [docs](https://x.example/?a=1&b=2) [repo](../../r.yml)"),
            "<p>&lt;script&gt;x&lt;/script&gt; <a href=\"https://x.example/?a=1&amp;b=2\">docs</a>"
            " repo</p>\n");
}

TEST(Markdown, NestedListsWithContinuationLines) {
  EXPECT_EQ(Render("1. first\n   more\n   - inner\n2. second\n\nafter\n"),
            "<ol>\n<li>first more<ul>\n<li>inner</li>\n</ul>\n</li>\n<li>second</li>\n</ol>\n"
            "<p>after</p>\n");
}

TEST(Markdown, FencedCodeAndTables) {
  EXPECT_EQ(Render("```promql\nup == 0 && <x>\n```\n| a | b |\n|---|---|\n| `1` | 2 |\n"),
            "<pre><code class=\"language-promql\">up == 0 &amp;&amp; &lt;x&gt;\n</code></pre>\n"
            "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>\n"
            "<tr><td><code>1</code></td><td>2</td></tr>\n</tbody></table>\n");
}

TEST(Runbooks, EveryShippedRunbookIsEmbeddedAndRenders) {
  EXPECT_GE(EmbeddedRunbooks().size(), 30u);
  ASSERT_TRUE(HasRunbook("PostgresPrimaryMissing"));
  const auto page = RunbookPage("PostgresPrimaryMissing");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<h1>PostgresPrimaryMissing</h1>"), std::string::npos);
  EXPECT_NE(page.body.find("<h2>Mitigation</h2>"), std::string::npos);
  // Links between runbooks are served ones; repository paths keep their text only.
  EXPECT_NE(page.body.find("<a href=\"/runbooks/PostgresSplitBrain\">"), std::string::npos);
  EXPECT_EQ(page.body.find("../../rules"), std::string::npos);
  const auto missing = RunbookPage("<NoSuchAlert>");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("No runbook for \"&lt;NoSuchAlert&gt;\""), std::string::npos);
  EXPECT_NE(RunbookIndexPage().body.find("href=\"/runbooks/PostgresWALChainGap\""),
            std::string::npos);
}

}  // namespace
}  // namespace pgdr::app
