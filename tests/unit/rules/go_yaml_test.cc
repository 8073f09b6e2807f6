#include "rules/go_yaml.h"

#include <gtest/gtest.h>

namespace pgdr::rules::goyaml {
namespace {

TEST(GoYaml, Utf8ErrorsAreYamlV3s) {
  EXPECT_EQ(Utf8Error("groups: []\n# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n"), "");
  EXPECT_EQ(Utf8Error("\xef\xbb\xbfgroups: []"), "");
  EXPECT_EQ(Utf8Error("a: \xff"), "invalid leading UTF-8 octet");
  EXPECT_EQ(Utf8Error("a: \xc3("), "invalid trailing UTF-8 octet");
  EXPECT_EQ(Utf8Error("a: \xe2\x82"), "incomplete UTF-8 octet sequence");
  EXPECT_EQ(Utf8Error("a: \xc0\xaf"), "invalid length of a UTF-8 sequence");
  EXPECT_EQ(Utf8Error("a: \xed\xa0\x80"), "invalid Unicode character");
  EXPECT_EQ(Utf8Error("a: \x01"), "control characters are not allowed");
}

TEST(GoYaml, DuplicateKeysNameBothLines) {
  YAML::Node n = YAML::Load("a: 1\nb: 2\na: 3\na: 4\n");
  EXPECT_EQ(DuplicateKeys(n),
            (std::vector<std::string>{"line 3: mapping key \"a\" already defined at line 1",
                                      "line 4: mapping key \"a\" already defined at line 1",
                                      "line 4: mapping key \"a\" already defined at line 3"}));
  EXPECT_TRUE(DuplicateKeys(YAML::Load("a: 1\nb: 1\n")).empty());
}

TEST(GoYaml, MergeKeysMergeExplicitFirst) {
  YAML::Node n = YAML::Load(
      "base: &b {x: 1, y: 2}\n"
      "m:\n  <<: [*b, {y: 3, z: 4}]\n  x: 0\n");
  YAML::Node m = Merged(n["m"]);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m["x"].Scalar(), "0");
  EXPECT_EQ(m["y"].Scalar(), "2");
  EXPECT_EQ(m["z"].Scalar(), "4");
  EXPECT_FALSE(m["<<"]);
  YAML::Node plain = YAML::Load("{a: 1}");
  EXPECT_TRUE(Merged(plain).is(plain));
  YAML::Node deep = MergedDeep(YAML::Load("l: [{k: &v {a: 1}}, {k: {<<: *v, b: 2}}]"));
  EXPECT_EQ(deep["l"][1]["k"]["a"].Scalar(), "1");
  EXPECT_FALSE(deep["l"][1]["k"]["<<"]);
}

TEST(GoYaml, TypeErrorsReadAsYamlV3s) {
  YAML::Node n = YAML::Load("a: abc\nb: [1]\nc: 1.5\nd: 'quoted'\ne: averyverylongvalue\nf:\n");
  EXPECT_EQ(TypeError(n["a"], "int"), "line 1: cannot unmarshal !!str `abc` into int");
  EXPECT_EQ(TypeError(n["b"], "string"), "line 2: cannot unmarshal !!seq into string");
  EXPECT_EQ(TypeError(n["c"], "int"), "line 3: cannot unmarshal !!float `1.5` into int");
  EXPECT_EQ(ShortTag(n["d"]), "!!str");
  EXPECT_EQ(TypeError(n["e"], "int"), "line 5: cannot unmarshal !!str `averyve...` into int");
  EXPECT_EQ(ShortTag(n["f"]), "!!null");
  EXPECT_EQ(ShortTag(YAML::Load("0x1F")), "!!int");
  EXPECT_EQ(ShortTag(YAML::Load("true")), "!!bool");
  EXPECT_EQ(ShortTag(YAML::Load("yes")), "!!str");
  EXPECT_EQ(ShortTag(YAML::Load(".inf")), "!!float");
}

}  // namespace
}  // namespace pgdr::rules::goyaml
