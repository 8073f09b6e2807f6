#include "pgdr/actions/actions_config.h"

#include <set>

#include "pgdr/actions/provider.h"
#include "pgdr/collect/pg_connect.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/files.h"
#include "pgdr/http/client.h"
#include "pgdr/http/kubernetes.h"

namespace pgdr::actions {

namespace {

std::optional<std::string> Opt(const config::YamlReader& r, const YAML::Node& n,
                               std::string_view key) {
  return r.OptString(n, key);
}

// basic_auth / bearer_token_* / tls_ca_file / timeout / max_retries on a receiver.
void ReadHttpOptions(const config::YamlReader& r, const YAML::Node& n, ReceiverConfig& rc,
                     const std::string& default_url = "") {
  if (const YAML::Node ba = n["basic_auth"]; ba) {
    r.ExpectMap(ba, "basic_auth");
    r.CheckKeys(ba, {"username", "password_env", "password_file"}, "basic_auth");
    rc.basic_user = r.String(ba, "username");
    rc.basic_password =
        collect::ResolvePassword(Opt(r, ba, "password_env"), Opt(r, ba, "password_file"));
  }
  const auto token_env = Opt(r, n, "bearer_token_env");
  const auto token_file = Opt(r, n, "bearer_token_file");
  if (token_env || token_file) {
    if (!rc.basic_user.empty()) r.Fail(n, "basic_auth and bearer_token_* are exclusive");
    rc.bearer_token = collect::ResolvePassword(token_env, token_file);
  }
  rc.ca_file = r.StringOr(n, "tls_ca_file", "");
  rc.timeout = r.DurationOr(n, "timeout", rc.timeout);
  rc.max_retries = static_cast<int>(r.IntOr(n, "max_retries", rc.max_retries));
  if (rc.max_retries < 0) r.Fail(n["max_retries"], "max_retries must be >= 0");
  const std::string url =
      default_url.empty() ? r.String(n, "url") : r.StringOr(n, "url", default_url);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    r.Fail(n["url"], "url must start with http:// or https://");
  }
  rc.url = url;
}

// The cnpg provider's keys: the Cluster (namespace, cnpg_cluster) and the
// API server, whose url, token and CA default to the pod's
// (http::InClusterDefaults).
void ReadKubernetes(const config::YamlReader& r, const YAML::Node& n, Trigger& t,
                    ReceiverConfig& rc) {
  t.k8s_namespace = r.String(n, "namespace");
  t.cnpg_cluster = r.StringOr(n, "cnpg_cluster", "");
  const http::KubernetesApi pod = http::InClusterDefaults({});
  ReadHttpOptions(r, n, rc, pod.url);
  if (rc.bearer_token.empty() && rc.basic_user.empty()) {
    rc.bearer_token = collect::ResolvePassword(std::nullopt, pod.token_file);
  }
  if (rc.ca_file.empty() && !n["tls_ca_file"]) rc.ca_file = pod.ca_file;
}

// The name of a receiver configured without one: its kind and URL, without the
// user:password@ and query a URL may carry (the name is a metric label and in logs).
std::string DefaultReceiverName(std::string_view kind, const std::string& url) {
  return std::string(kind) + ":" + http::RedactUrl(url);
}

std::vector<Matcher> ReadMatchers(const config::YamlReader& r, const YAML::Node& n,
                                  std::string_view key) {
  std::vector<Matcher> out;
  const YAML::Node m = n[std::string(key)];
  if (!m) return out;
  std::vector<std::string> texts;
  if (m.IsScalar()) {
    texts.push_back(m.as<std::string>());
  } else if (m.IsMap()) {
    for (const auto& kv : m) {
      texts.push_back(kv.first.as<std::string>() + "=\"" + kv.second.as<std::string>() + "\"");
    }
  } else {
    for (const auto& s : m) texts.push_back(r.AsString(s, std::string(key)));
  }
  for (const auto& t : texts) {
    auto parsed = ParseMatchers(t);
    if (!parsed.ok()) r.Fail(m, parsed.status().message());
    for (auto& x : *parsed) out.push_back(std::move(x));
  }
  return out;
}

void LoadAlerting(const config::YamlReader& r, const config::Config& config, const YAML::Node& a,
                  NotifierConfig& nc) {
  nc.evaluation_interval = config.evaluation_interval;
  nc.external_labels = config.external_labels;
  if (!a || a.IsNull()) return;
  r.ExpectMap(a, "alerting");
  r.CheckKeys(a, {"resend_delay", "queue_capacity", "external_url", "alertmanagers", "webhooks"},
              "alerting");
  nc.resend_delay = r.DurationOr(a, "resend_delay", nc.resend_delay);
  if (nc.resend_delay <= milliseconds::zero()) r.Fail(a["resend_delay"], "must be positive");
  const long long cap = r.IntOr(a, "queue_capacity", static_cast<long long>(nc.queue_capacity));
  if (cap < 1) r.Fail(a["queue_capacity"], "queue_capacity must be >= 1");
  nc.queue_capacity = static_cast<size_t>(cap);
  nc.external_url = r.StringOr(a, "external_url", "");
  std::set<std::string> names;
  if (const YAML::Node ams = a["alertmanagers"]; ams) {
    r.ExpectSequence(ams, "alertmanagers");
    for (const auto& n : ams) {
      r.ExpectMap(n, "alertmanager");
      r.CheckKeys(n,
                  {"name", "url", "basic_auth", "bearer_token_env", "bearer_token_file",
                   "tls_ca_file", "timeout", "max_retries"},
                  "alertmanager");
      ReceiverConfig rc;
      rc.kind = ReceiverConfig::Kind::kAlertmanager;
      ReadHttpOptions(r, n, rc);
      rc.name = r.StringOr(n, "name", DefaultReceiverName("alertmanager", rc.url));
      if (!names.insert(rc.name).second) r.Fail(n, "duplicate receiver name \"" + rc.name + "\"");
      nc.receivers.push_back(std::move(rc));
    }
  }
  if (const YAML::Node hooks = a["webhooks"]; hooks) {
    r.ExpectSequence(hooks, "webhooks");
    for (const auto& n : hooks) {
      r.ExpectMap(n, "webhook");
      r.CheckKeys(
          n,
          {"name", "url", "basic_auth", "bearer_token_env", "bearer_token_file", "tls_ca_file",
           "timeout", "max_retries", "match", "group_by", "repeat_interval", "send_resolved"},
          "webhook");
      ReceiverConfig rc;
      rc.kind = ReceiverConfig::Kind::kWebhook;
      ReadHttpOptions(r, n, rc);
      rc.name = r.StringOr(n, "name", DefaultReceiverName("webhook", rc.url));
      if (!names.insert(rc.name).second) r.Fail(n, "duplicate receiver name \"" + rc.name + "\"");
      rc.match = ReadMatchers(r, n, "match");
      if (n["group_by"]) rc.group_by = r.StringList(n, "group_by");
      rc.repeat_interval = r.DurationOr(n, "repeat_interval", rc.repeat_interval);
      rc.send_resolved = r.BoolOr(n, "send_resolved", true);
      nc.receivers.push_back(std::move(rc));
    }
  }
}

Trigger::Action ParseAction(const config::YamlReader& r, const YAML::Node& n) {
  const std::string a = r.String(n, "action");
  if (a == "failover") return Trigger::Action::kFailover;
  if (a == "redirect") return Trigger::Action::kRedirect;
  if (a == "webhook") return Trigger::Action::kWebhook;
  if (a == "exec") return Trigger::Action::kExec;
  r.Fail(n["action"], "unknown action \"" + a + "\" (allowed: failover, redirect, webhook, exec)");
}

// actions.region_failover: one entry per standby region that may take over.
void LoadRegions(const config::YamlReader& r, const YAML::Node& actions, bool dry_run,
                 ActionsConfig& out) {
  const YAML::Node list = actions["region_failover"];
  if (!list) return;
  r.ExpectSequence(list, "actions.region_failover");
  std::set<std::string> seen;
  for (const auto& n : list) {
    r.ExpectMap(n, "region_failover");
    r.CheckKeys(n,
                {"cluster", "standby_region", "confirm_for", "max_rpo_bytes", "approval",
                 "cooldown", "provider", "timeout", "repoint_replicas", "redirect", "dry_run",
                 "namespace", "cnpg_cluster", "url", "basic_auth", "bearer_token_env",
                 "bearer_token_file", "tls_ca_file"},
                "region_failover");
    RegionFailover rf;
    RegionPolicy& p = rf.policy;
    p.cluster = r.String(n, "cluster");
    if (!out.members.count(p.cluster))
      r.Fail(n["cluster"], "unknown cluster \"" + p.cluster + "\"");
    p.standby_region = r.String(n, "standby_region");
    bool region_known = false;
    for (const auto& [key, region] : out.regions_of_members) {
      if (key.rfind(p.cluster + "/", 0) == 0 && region == p.standby_region) region_known = true;
    }
    if (!region_known) {
      r.Fail(n["standby_region"],
             "no member of cluster \"" + p.cluster + "\" has region \"" + p.standby_region + "\"");
    }
    if (!seen.insert(p.cluster + "/" + p.standby_region).second) {
      r.Fail(n, "duplicate region_failover for " + p.cluster + "/" + p.standby_region);
    }
    p.confirm_for = r.DurationOr(n, "confirm_for", p.confirm_for);
    if (p.confirm_for <= milliseconds::zero()) r.Fail(n["confirm_for"], "must be positive");
    p.max_rpo_bytes = r.NumberOr(n, "max_rpo_bytes", p.max_rpo_bytes);
    if (p.max_rpo_bytes < 0) r.Fail(n["max_rpo_bytes"], "must be >= 0");
    const std::string approval = r.StringOr(n, "approval", "manual");
    if (approval != "manual" && approval != "auto") {
      r.Fail(n["approval"], "approval must be manual or auto, not \"" + approval + "\"");
    }
    p.manual_approval = approval == "manual";
    p.cooldown = r.DurationOr(n, "cooldown", p.cooldown);
    Trigger& t = rf.trigger;
    t.name = "region:" + p.cluster + "/" + p.standby_region;
    t.cluster = p.cluster;
    t.dry_run = r.BoolOr(n, "dry_run", dry_run);
    t.provider = r.StringOr(n, "provider", "pg_promote");
    const FailoverProvider* provider = FindProvider(t.provider);
    if (!provider) {
      r.Fail(n["provider"],
             "unknown provider \"" + t.provider + "\" (allowed: " + ProviderNames() + ")");
    }
    const ProviderNeeds needs = provider->needs();
    if (needs.command) {
      r.Fail(n["provider"], "provider \"" + t.provider +
                                "\" needs keys region_failover does not take; use pg_promote, "
                                "cnpg or patroni");
    }
    t.timeout = r.DurationOr(n, "timeout", t.timeout);
    if (needs.kubernetes) {
      // A CNPG replica cluster: the standby region's Cluster (cnpg_cluster).
      ReadKubernetes(r, n, t, t.http);
    } else if (needs.http) {
      // A Patroni standby cluster: the REST API of one of its members.
      for (const char* k : {"namespace", "cnpg_cluster"}) {
        if (n[k]) r.Fail(n[k], std::string("`") + k + "` is only for provider cnpg");
      }
      ReadHttpOptions(r, n, t.http);
    } else {
      for (const char* k : {"namespace", "cnpg_cluster", "url", "basic_auth", "bearer_token_env",
                            "bearer_token_file", "tls_ca_file"}) {
        if (n[k]) r.Fail(n[k], std::string("`") + k + "` is only for providers cnpg and patroni");
      }
    }
    if (needs.http) {
      t.http.kind = ReceiverConfig::Kind::kWebhook;
      t.http.timeout = t.timeout;
    }
    t.repoint_replicas = r.BoolOr(n, "repoint_replicas", true);
    if (n["redirect"]) t.redirect = r.StringList(n, "redirect");
    for (const auto& pooler : t.redirect) {
      if (!out.poolers.count(pooler)) {
        r.Fail(n["redirect"], "unknown pooler \"" + pooler + "\" (see pgbouncers:)");
      }
    }
    out.regions.push_back(std::move(rf));
  }
}

void LoadTriggers(const config::YamlReader& r, const YAML::Node& a, ActionsConfig& out) {
  if (!a || a.IsNull()) return;
  r.ExpectMap(a, "actions");
  r.CheckKeys(a, {"dry_run", "triggers", "region_failover"}, "actions");
  const bool dry_run = r.BoolOr(a, "dry_run", true);
  LoadRegions(r, a, dry_run, out);
  const YAML::Node list = a["triggers"];
  if (!list) return;
  r.ExpectSequence(list, "actions.triggers");
  int index = 0;
  for (const auto& n : list) {
    ++index;
    r.ExpectMap(n, "trigger");
    r.CheckKeys(n, {"name",
                    "match",
                    "action",
                    "dry_run",
                    "cluster",
                    "provider",
                    "confirm_for",
                    "max_lag_bytes",
                    "cooldown",
                    "timeout",
                    "repoint_replicas",
                    "redirect",
                    "poolers",
                    "command",
                    "url",
                    "basic_auth",
                    "bearer_token_env",
                    "bearer_token_file",
                    "tls_ca_file",
                    "max_retries",
                    "namespace",
                    "cnpg_cluster"},
                "trigger");
    Trigger t;
    t.action = ParseAction(r, n);
    static constexpr const char* kNames[] = {"failover", "redirect", "webhook", "exec"};
    t.name = r.StringOr(
        n, "name", std::string(kNames[static_cast<int>(t.action)]) + "#" + std::to_string(index));
    if (!n["match"]) r.Fail(n, "trigger needs `match` (label matchers selecting alerts)");
    t.match = ReadMatchers(r, n, "match");
    t.dry_run = r.BoolOr(n, "dry_run", dry_run);
    t.cluster = r.StringOr(n, "cluster", "");
    t.timeout = r.DurationOr(n, "timeout", t.timeout);
    const bool is_failover = t.action == Trigger::Action::kFailover;
    auto only = [&](std::string_view key, bool allowed) {
      if (n[std::string(key)] && !allowed) {
        r.Fail(n[std::string(key)], "key \"" + std::string(key) + "\" does not apply to action \"" +
                                        kNames[static_cast<int>(t.action)] + "\"");
      }
    };
    for (const char* k :
         {"provider", "confirm_for", "max_lag_bytes", "cooldown", "repoint_replicas", "redirect"}) {
      only(k, is_failover);
    }
    only("poolers", t.action == Trigger::Action::kRedirect);
    ProviderNeeds needs;  // of the failover provider; none for other actions
    if (is_failover) {
      t.provider = r.StringOr(n, "provider", "pg_promote");
      const FailoverProvider* provider = FindProvider(t.provider);
      if (!provider) {
        r.Fail(n["provider"],
               "unknown provider \"" + t.provider + "\" (allowed: " + ProviderNames() + ")");
      }
      needs = provider->needs();
      t.policy.confirm_for = r.DurationOr(n, "confirm_for", t.policy.confirm_for);
      t.policy.max_lag_bytes = r.NumberOr(n, "max_lag_bytes", t.policy.max_lag_bytes);
      t.policy.cooldown = r.DurationOr(n, "cooldown", t.policy.cooldown);
      t.repoint_replicas = r.BoolOr(n, "repoint_replicas", true);
      if (n["redirect"]) t.redirect = r.StringList(n, "redirect");
    }
    if (t.action == Trigger::Action::kRedirect && n["poolers"]) {
      t.poolers = r.StringList(n, "poolers");
    }
    for (const auto& p : t.action == Trigger::Action::kRedirect ? t.poolers : t.redirect) {
      if (!out.poolers.count(p)) r.Fail(n, "unknown pooler \"" + p + "\" (see pgbouncers:)");
    }
    const bool needs_command = t.action == Trigger::Action::kExec || needs.command;
    only("command", needs_command);
    if (needs_command) {
      t.command = r.StringList(n, "command");
      if (t.command.empty()) r.Fail(n, "`command` is required (a list: program and arguments)");
    }
    const bool cnpg = needs.kubernetes;
    only("namespace", cnpg);
    only("cnpg_cluster", cnpg);
    const bool needs_url = t.action == Trigger::Action::kWebhook || needs.http;
    for (const char* k : {"url", "basic_auth", "bearer_token_env", "bearer_token_file",
                          "tls_ca_file", "max_retries"}) {
      only(k, needs_url);
    }
    if (needs_url) {
      ReceiverConfig rc;
      rc.kind = ReceiverConfig::Kind::kWebhook;
      if (cnpg) {
        ReadKubernetes(r, n, t, rc);
      } else {
        ReadHttpOptions(r, n, rc);
      }
      rc.timeout = t.timeout;
      t.http = rc;
      if (t.action == Trigger::Action::kWebhook) {
        rc.name = "action:" + t.name;
        rc.on_demand = true;
        t.receiver = rc.name;
        out.notifier.receivers.push_back(std::move(rc));
      }
    }
    if (!t.cluster.empty() && !out.members.count(t.cluster)) {
      r.Fail(n["cluster"], "unknown cluster \"" + t.cluster + "\"");
    }
    out.triggers.push_back(std::move(t));
  }
}

void LoadMaintenance(const config::YamlReader& r, const YAML::Node& m, ActionsConfig& out) {
  if (!m || m.IsNull()) return;
  r.ExpectMap(m, "maintenance");
  r.CheckKeys(m, {"windows"}, "maintenance");
  const YAML::Node list = m["windows"];
  if (!list) return;
  r.ExpectSequence(list, "maintenance.windows");
  for (const auto& n : list) {
    r.ExpectMap(n, "maintenance window");
    r.CheckKeys(n, {"cluster", "cron", "duration", "reason"}, "maintenance window");
    auto cron = CronSchedule::Parse(r.String(n, "cron"));
    if (!cron.ok()) r.Fail(n["cron"], cron.status().message());
    WindowConfig w{r.StringOr(n, "cluster", ""), std::move(*cron),
                   r.DurationOr(n, "duration", milliseconds::zero()), r.StringOr(n, "reason", "")};
    if (w.duration <= milliseconds::zero()) r.Fail(n, "`duration` is required and positive");
    if (w.duration > std::chrono::hours(24 * 7)) r.Fail(n["duration"], "at most 1w");
    if (!w.cluster.empty() && !out.members.count(w.cluster)) {
      r.Fail(n["cluster"], "unknown cluster \"" + w.cluster + "\"");
    }
    out.windows.push_back(std::move(w));
  }
}

}  // namespace

core::Result<ActionsConfig> LoadActionsConfig(const config::Config& config,
                                              const config::OwnedSections& sections) {
  ActionsConfig out;
  for (const auto& t : config.targets) {
    if (!out.members.count(t.cluster)) out.clusters.push_back(t.cluster);
    out.members[t.cluster].push_back(
        PgEndpoint{t.member, t.dsn, collect::ResolvePassword(t.password_env, t.password_file)});
    out.addresses[t.Key()] = DsnAddress(t.dsn);
    out.regions_of_members[t.Key()] = t.region;
  }
  for (const auto& p : config.patroni) out.patroni_urls[p.cluster] = p.urls;
  for (const auto& p : config.pgbouncers) {
    PoolerEndpoint pe;
    pe.name = p.name;
    pe.admin_dsn = p.dsn;
    pe.password = collect::ResolvePassword(p.password_env, p.password_file);
    pe.databases_file = p.databases_file.empty()
                            ? ""
                            : core::ResolvePath(core::DirName(config.file), p.databases_file);
    out.poolers[p.name] = pe;
    out.pooler_cluster[p.name] = p.cluster;
  }
  const config::YamlReader r(config.file);
  const core::Status st = config::GuardYaml(config.file, [&] {
    LoadAlerting(r, config, sections.alerting, out.notifier);
    LoadTriggers(r, sections.actions, out);
    LoadMaintenance(r, sections.maintenance, out);
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace pgdr::actions
