// The inside of an alert template: parse tree, run-time values, and the
// function table, shared by template_parse.cc (text -> tree, Go's
// text/template/parse), template_exec.cc (tree -> text, Go's exec.go),
// template_funcs.cc (builtins and Prometheus's functions) and
// template_fmt.cc (Go's fmt for the value kinds a template can hold).
//
// Failures inside these files are thrown as TemplateFailure (Go panics the
// same way) and turned into a Status at the Template boundary.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rules/template.h"

namespace pgdr::rules::tmpl {

struct TemplateFailure {
  std::string message;
};

// A Go value as text/template's reflection sees it. Only the types an alert
// template can produce exist: Go type names come from TypeName().
struct Value {
  enum class Kind {
    kInvalid,  // reflect.Value{}: prints "<no value>"
    kBool,
    kInt,    // int (untyped integer constants, len, range indexes)
    kUint8,  // byte (index of a string)
    kFloat,  // float64
    kString,
    kHTML,    // html/template.HTML (safeHtml)
    kStrMap,  // map[string]string
    kAnyMap,  // map[string]interface {} (args)
    kResult,  // template.queryResult ([]*sample)
    kSample,  // *template.sample; null pointer when sample is empty
    kTime,    // *time.Time (toTime)
    kData,    // the alert's data struct
  };
  Kind kind = Kind::kInvalid;
  bool b = false;
  int64_t i = 0;  // kInt, kUint8; kTime: nanoseconds since the epoch
  double f = 0;
  std::string s;
  std::shared_ptr<const std::map<std::string, std::string>> smap;
  std::shared_ptr<const std::map<std::string, Value>> amap;
  std::shared_ptr<const std::vector<std::shared_ptr<const TemplateSample>>> result;
  std::shared_ptr<const TemplateSample> sample;
  const TemplateData* data = nullptr;
};

Value Bool(bool v);
Value Int(int64_t v);
Value Float(double v);
Value String(std::string v);
Value StrMap(std::map<std::string, std::string> m);
std::string TypeName(const Value& v);  // Go's reflect.Type.String()
bool Truth(const Value& v);            // text/template's isTrue

// fmt.Sprint of one value as text/template prints it.
std::string Sprint(const Value& v);
// fmt.Sprintf with Go's verbs, flags, width, precision and %!x(...) errors.
std::string Sprintf(const std::string& format, const std::vector<Value>& args);
// strconv.Quote.
std::string GoQuote(const std::string& s);

// ---- Parse tree (Go's parse.Node kinds) ----
struct Pipe;
struct Arg {
  enum class Kind {
    kIdent,  // function name
    kDot,
    kNil,
    kVar,    // $x.f.g: name = "$x", fields = f, g
    kField,  // .f.g
    kBool,
    kNumber,
    kString,
    kPipe,   // (pipeline)
    kChain,  // (pipeline).f or literal chains
  };
  Kind kind = Kind::kDot;
  int pos = 0;
  std::string name;                 // kIdent, kVar; kString: unquoted; kNumber: source text
  std::vector<std::string> fields;  // kVar (after name), kField, kChain
  bool truth = false;               // kBool
  // kNumber, as Go's NumberNode.
  bool is_int = false, is_uint = false, is_float = false;
  int64_t int_value = 0;
  double float_value = 0;
  std::string quoted;          // kString: source text
  std::shared_ptr<Pipe> pipe;  // kPipe, kChain
  std::string String() const;
};

struct Command {
  int pos = 0;
  std::vector<Arg> args;
  std::string String() const;
};

struct Pipe {
  int pos = 0;
  bool is_assign = false;
  std::vector<std::string> decl;
  std::vector<Command> cmds;
  std::string String() const;
};

struct Node {
  enum class Kind { kList, kText, kAction, kIf, kWith, kRange, kTemplate, kBreak, kContinue };
  Kind kind = Kind::kList;
  int pos = 0;
  std::string text;  // kText; kTemplate: the template's name
  std::shared_ptr<Pipe> pipe;
  std::vector<Node> list;       // kList children; kIf/kWith/kRange body
  std::vector<Node> else_list;  // kIf/kWith/kRange
  bool has_else = false;
  std::string String() const;
};

// What Template::Parse produces: the main tree and every {{define}}.
struct Tree {
  std::string name;
  std::string text;  // the whole source, for line:column of errors
  std::map<std::string, Node> templates;
};

// Go's text/template Parse; throws TemplateFailure with Go's message.
Tree ParseTree(const std::string& name, const std::string& text);

// ---- Functions ----
enum class Param { kAny, kString, kFloat, kResult, kSample, kReflect };
struct Function {
  std::vector<Param> params;
  bool variadic = false;  // the last param repeats
  bool builtin = false;
  // Returns the result; a failure message is thrown as
  // CallError and reported as "error calling NAME: msg".
  Value (*call)(const std::vector<Value>& args, const TemplateData& data);
};
struct CallError {
  std::string message;
};
// nullptr when NAME is not a function of alert templates.
const Function* FindFunction(const std::string& name);

// Go's int64(f) on amd64: out of range (and NaN) is the minimum int64,
// where C++'s conversion would be undefined.
inline int64_t GoInt64(double f) {
  if (!(f >= -9.223372036854775808e18 && f < 9.223372036854775808e18)) return INT64_MIN;
  return static_cast<int64_t>(f);
}

// Go's "%.4g" as the humanize functions print.
std::string FormatG4Value(double v);

}  // namespace pgdr::rules::tmpl
