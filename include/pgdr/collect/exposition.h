// Exposition: the /metrics text assembled from blocks serialised once.
//
// Serialising every series of every member each time one member finishes a
// cycle cost O(all series) per result, O(targets^2) per interval. Instead each
// source (a target's result, a store poll) is serialised once, family by
// family, when it first appears, and a composition only concatenates: for each
// family name in order, one `# HELP`/`# TYPE` header, then every source's
// sample lines of that family. The text is byte for byte what
// prometheus::TextSerializer writes for the same sources merged with
// MetricSet::Merge in the same order (the first source fixes a family's help
// and type; a source using the name with another type is left out), so a
// family's samples stay contiguous across targets as the format requires.
//
// Thread-safety: SerializedFamilies are immutable once built; ExpositionCache
// belongs to one thread (the composer).
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::collect {

struct SerializedFamily {
  std::string name;
  prometheus::MetricType type = prometheus::MetricType::Untyped;
  std::string header;   // "# HELP …\n# TYPE …\n" as TextSerializer writes them
  std::string samples;  // the family's sample lines, without the header
  size_t series = 0;
  // A slot with no samples this time (QueryTextWriter keeps one per value
  // column so that its buffers are reused): left out of the exposition.
  bool hidden = false;
};
using SerializedFamilies = std::vector<SerializedFamily>;

// Counters, gauges, untyped samples and histograms are written directly (the
// serializer's ostream per value was most of the cost, and its stream and
// copies allocated every cycle); summaries go through
// prometheus::TextSerializer. Unit tests hold the two to equal bytes.
SerializedFamilies SerializeFamilies(const std::vector<prometheus::MetricFamily>& families);
// The same into `out`, reusing its strings' buffers: a caller serialising
// families of the same shape every cycle allocates nothing once they are grown.
void SerializeFamiliesInto(const std::vector<prometheus::MetricFamily>& families,
                           SerializedFamilies& out);

// The pieces of a sample line as TextSerializer writes them: a value
// ("%.16g", "Nan", "+Inf", "-Inf") and a label value with \\, \" and \n escaped.
void AppendSampleValue(std::string& out, double value);
void AppendLabelValue(std::string& out, std::string_view value);
// `{name="value"` for the first label of a sample (`first` then false),
// `,name="value"` after it; the caller closes with '}'.
void AppendLabelPair(std::string& out, bool& first, std::string_view name, std::string_view value);
// The word of a `# TYPE` line: counter, gauge, summary, histogram, untyped.
const char* MetricTypeName(prometheus::MetricType type);

// The families back from counter, gauge and untyped blocks this module wrote
// (the inverse of SerializeFamilies; histograms and summaries are skipped).
// For the TSDB and for merging blocks whose families were never built
// (QueryTextWriter): values are as exposed, 16 significant digits.
std::vector<prometheus::MetricFamily> FamiliesFromText(const SerializedFamilies& text);

// Concatenates `sources` (in this order) into one exposition; `series` gets
// the number of series written.
std::string AssembleExposition(const std::vector<const SerializedFamilies*>& sources,
                               size_t* series);

// AssembleExposition with its index of families kept from one call to the
// next (a composer's: no allocation per composition but the text itself).
class ExpositionAssembler {
 public:
  std::string Assemble(const std::vector<const SerializedFamilies*>& sources, size_t* series);

 private:
  struct Part {
    const SerializedFamily* family;
    size_t order;  // position in the sources, to keep their order within a name
  };
  std::vector<Part> parts_;
};

// Keeps each source's serialised text from one composition to the next, keyed
// by the shared object that owns the families (a TargetResult, a StorePoll):
// results are immutable, so the same owner means the same text. Holding the
// owner keeps its address from being reused by a newer result.
class ExpositionCache {
 public:
  // The text of `families`, serialised now only if `owner` was not seen in the
  // previous or the current round.
  const SerializedFamilies& Get(const std::shared_ptr<const void>& owner,
                                const std::vector<prometheus::MetricFamily>& families);
  // Ends a round: owners not asked for since the last EndRound() are dropped.
  void EndRound();
  size_t serialized() const { return serialized_; }  // sources serialised so far

 private:
  struct Entry {
    std::shared_ptr<const void> owner;
    SerializedFamilies text;
  };
  std::map<const void*, Entry> previous_;
  std::map<const void*, Entry> current_;
  size_t serialized_ = 0;
};

}  // namespace pgdr::collect
