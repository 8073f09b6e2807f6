#include "collect/statement_stats.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>

namespace pgdr::collect {
namespace {

// Upper bounds of pgdr_statement_response_seconds, from 1 ms to 10 s.
constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,   0.25,   0.5,   1,    2.5,   10};

struct Delta {
  const StatementRow* row = nullptr;
  double calls = 0;
  double seconds = 0;  // exec + plan
  double rows = 0;
};

struct Sum {
  double calls = 0;
  double seconds = 0;
  double rows = 0;
  void Add(const Delta& d) {
    calls += d.calls;
    seconds += d.seconds;
    rows += d.rows;
  }
};

// Share of a normal(mean, stddev) distribution at or under `bound`.
double NormalShare(double bound, double mean, double stddev) {
  if (stddev <= 0) return mean <= bound ? 1.0 : 0.0;
  return 0.5 * std::erfc(-(bound - mean) / (stddev * std::sqrt(2.0)));
}

core::Labels With(core::Labels labels, const std::string& name, const std::string& value) {
  labels.push_back({name, value});
  return labels;
}

void EmitRates(core::MetricSet& out, const core::Labels& labels, const Sum& s, double interval) {
  out.Gauge("pgdr_statement_calls_per_second",
            "Calls per second over the last collection (top N statements and 'other')", labels,
            s.calls / interval);
  out.Gauge("pgdr_statement_time_seconds_per_second",
            "Execution plus planning seconds per second over the last collection", labels,
            s.seconds / interval);
  out.Gauge("pgdr_statement_rows_per_second", "Rows returned or affected per second", labels,
            s.rows / interval);
}

void EmitMean(core::MetricSet& out, std::string_view name, std::string_view help,
              const core::Labels& labels, const Sum& s, double interval) {
  if (s.calls <= 0) return;  // no call: no mean, not 0
  out.Gauge(name, help, labels, s.seconds / s.calls);
  std::string rate_name(name);
  rate_name.replace(rate_name.rfind("_mean_seconds"), std::string("_mean_seconds").size(),
                    "_calls_per_second");
  out.Gauge(rate_name, "Statement calls per second over the last collection", labels,
            s.calls / interval);
}

}  // namespace

void StatementRowsFromResult(const ResultView& result, std::vector<StatementRow>& out) {
  auto column = [&result](std::string_view name) {
    for (int i = 0; i < result.columns(); ++i) {
      if (result.column_name(i) == name) return i;
    }
    return -1;
  };
  const int datname = column("datname");
  const int usename = column("usename");
  const int queryid = column("queryid");
  const int query = column("query");
  const int calls = column("calls");
  const int exec = column("total_exec_time");
  const int plan = column("total_plan_time");
  const int nrows = column("rows");
  const int stddev = column("stddev_exec_time");
  out.resize(static_cast<size_t>(result.rows()));
  for (int r = 0; r < result.rows(); ++r) {
    // Assigned, not rebuilt: the strings keep their buffers across cycles.
    auto text = [&result, r](int c, std::string& into) {
      const auto cell = c < 0 ? std::nullopt : result.cell(r, c);
      into.assign(cell ? *cell : std::string_view());
    };
    auto number = [&result, r](int c) {
      double v = 0;
      const auto cell = c < 0 ? std::nullopt : result.cell(r, c);
      if (!cell || !ParsePgNumber(*cell, &v)) return 0.0;
      return v;
    };
    StatementRow& row = out[static_cast<size_t>(r)];
    text(datname, row.datname);
    text(usename, row.usename);
    text(queryid, row.queryid);
    text(query, row.query);
    row.calls = number(calls);
    row.exec_ms = number(exec);
    row.plan_ms = number(plan);
    row.rows = number(nrows);
    row.stddev_exec_ms = number(stddev);
  }
}

std::string TruncateStatement(const std::string& text, size_t limit) {
  // Utility statements keep their literals (CREATE ROLE ... PASSWORD '...').
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("password") != std::string::npos) return "(hidden: mentions a password)";
  if (text.size() <= limit) return text;
  size_t cut = limit;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return text.substr(0, cut) + "...";
}

void StatementTracker::Update(const std::vector<StatementRow>& rows, double interval_seconds,
                              const core::Labels& base_labels, core::MetricSet& out) {
  // previous_ is updated in place (its nodes and keys kept from one cycle to
  // the next): each entry takes this cycle's counters at the first row of its
  // key and keeps the last cycle's (`before`) for the rows after it; entries
  // no row named this cycle are dropped.
  ++generation_;
  std::vector<Delta> deltas;
  for (const auto& r : rows) {
    key_.assign(r.datname);
    key_ += '\xff';
    key_ += r.usename;
    key_ += '\xff';
    key_ += r.queryid;
    const Counters now{r.calls, r.exec_ms, r.plan_ms, r.rows};
    auto it = previous_.find(key_);
    if (it == previous_.end()) {
      it = previous_.emplace(key_, Entry{}).first;
      it->second.generation = generation_;
      it->second.now = now;
    } else if (it->second.generation != generation_) {
      it->second.had_before = true;  // entries not seen last cycle were dropped then
      it->second.before = it->second.now;
      it->second.generation = generation_;
      it->second.now = now;
    }
    if (have_baseline_) {
      Counters before;  // a new entry counts from zero
      const Entry& e = it->second;
      if (e.had_before && e.before.calls <= now.calls) before = e.before;
      Delta d{&r, now.calls - before.calls,
              (now.exec_ms - before.exec_ms + now.plan_ms - before.plan_ms) / 1000.0,
              now.rows - before.rows};
      if (d.calls > 0) deltas.push_back(d);
    }
  }
  for (auto it = previous_.begin(); it != previous_.end();) {
    it = it->second.generation == generation_ ? std::next(it) : previous_.erase(it);
  }
  const bool first = !have_baseline_;
  have_baseline_ = true;
  top_.clear();

  // Per database: the cycle's deltas, biggest time first.
  std::map<std::string, std::vector<const Delta*>> by_db;
  std::map<std::pair<std::string, std::string>, Sum> by_user;
  for (const auto& d : deltas) {
    by_db[d.row->datname].push_back(&d);
    by_user[{d.row->datname, d.row->usename}].Add(d);
  }
  for (const auto& entry : by_db) histograms_.try_emplace(entry.first);

  const double interval = interval_seconds > 0 ? interval_seconds : 1.0;
  for (auto& [db, list] : by_db) {
    std::sort(list.begin(), list.end(), [](const Delta* a, const Delta* b) {
      return a->seconds != b->seconds ? a->seconds > b->seconds : a->row->queryid < b->row->queryid;
    });
    const core::Labels db_labels = With(base_labels, "datname", db);
    // One series per queryid: users of one statement are summed.
    std::map<std::string, Sum> per_query;
    std::vector<std::string> order;
    Sum total;
    for (const Delta* d : list) {
      auto [it, added] = per_query.try_emplace(d->row->queryid);
      if (added) order.push_back(d->row->queryid);
      it->second.Add(*d);
      total.Add(*d);
    }
    std::stable_sort(order.begin(), order.end(), [&per_query](const auto& a, const auto& b) {
      return per_query[a].seconds > per_query[b].seconds;
    });
    Sum other;
    for (size_t i = 0; i < order.size(); ++i) {
      const Sum& s = per_query[order[i]];
      if (i >= top_n_) {
        other.calls += s.calls;
        other.seconds += s.seconds;
        other.rows += s.rows;
        continue;
      }
      EmitRates(out, With(db_labels, "queryid", order[i]), s, interval);
      const auto text = std::find_if(list.begin(), list.end(),
                                     [&](const Delta* d) { return d->row->queryid == order[i]; });
      top_.push_back({db, order[i], TruncateStatement((*text)->row->query, kStatementTextLimit),
                      s.calls / interval, s.seconds / interval,
                      s.calls > 0 ? s.seconds / s.calls : 0});
    }
    if (order.size() > top_n_) EmitRates(out, With(db_labels, "queryid", "other"), other, interval);
    EmitMean(out, "pgdr_database_statement_mean_seconds",
             "Mean statement response time (execution plus planning) over the last collection",
             db_labels, total, interval);

    Histogram& h = histograms_[db];
    h.cumulative.resize(kBounds.size(), 0);
    for (const Delta* d : list) {
      const double mean = d->seconds / d->calls;
      const double stddev = d->row->stddev_exec_ms / 1000.0;
      for (size_t b = 0; b < kBounds.size(); ++b) {
        h.cumulative[b] += d->calls * NormalShare(kBounds[b], mean, stddev);
      }
      h.count += d->calls;
      h.sum_seconds += d->seconds;
    }
  }
  for (const auto& [who, s] : by_user) {
    EmitMean(out, "pgdr_user_statement_mean_seconds",
             "Mean statement response time per user over the last collection",
             With(With(base_labels, "datname", who.first), "usename", who.second), s, interval);
  }
  if (first) return;
  for (auto& [db, h] : histograms_) {
    h.cumulative.resize(kBounds.size(), 0);
    prometheus::ClientMetric::Histogram hist;
    hist.sample_count = static_cast<std::uint64_t>(std::llround(h.count));
    hist.sample_sum = h.sum_seconds;
    for (size_t b = 0; b < kBounds.size(); ++b) {
      hist.bucket.push_back(
          {static_cast<std::uint64_t>(std::llround(h.cumulative[b])), kBounds[b]});
    }
    hist.bucket.push_back({hist.sample_count, std::numeric_limits<double>::infinity()});
    out.Histogram("pgdr_statement_response_seconds",
                  "ESTIMATE of statement response time: each statement's calls are spread over "
                  "a normal distribution of its pg_stat_statements mean and stddev",
                  With(base_labels, "datname", db), std::move(hist));
  }
}

}  // namespace pgdr::collect
