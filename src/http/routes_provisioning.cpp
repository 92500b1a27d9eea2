// Routes of device provisioning (issue 5): a thing's client certificate and
// MW bundle, its revocation, the purge of a thing with its data, and the CA
// certificate and CRL. The use cases are
// in nbms::provisioning::Service; this file does scope, shapes and audit.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api_common.hpp"
#include "nbms/core/ids.hpp"
#include "url.hpp"

namespace nbms::http {
namespace {

// A PEM CSR of an RSA-4096 key is about 1.7 KiB; anything near this is not one.
constexpr std::size_t kMaxCsrBytes = std::size_t{16} * 1024;
constexpr std::string_view kPemType = "application/x-pem-file";

Response not_configured() {
  return error_response(503, "device provisioning is not available (no CA configured)");
}

json record_json(const CertificateRecord& r) {
  return {{"serial", r.serial},
          {"fingerprint", r.fingerprint},
          {"issued_ms", r.issued_ms},
          {"not_after_ms", r.not_after_ms},
          {"revoked", r.revoked_ms.has_value()},
          {"revoked_ms", r.revoked_ms ? json(*r.revoked_ms) : json(nullptr)}};
}

json records_json(const std::vector<CertificateRecord>& records) {
  json a = json::array();
  for (const auto& r : records) a.push_back(record_json(r));
  return a;
}

// The thing of .../buildings/{b}/things/{t}/...: in scope (a manager of its
// customer or the admin), its building exists, and the name belongs to that
// building. Another customer's is 404, worded as one that does not exist.
Result<std::string> thing_in_scope(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  const auto& t = x.params[2];
  if (auto v = check_building(x, c, b, Need::manage); !v) return std::unexpected(v.error());
  auto name = ThingName::parse(t);
  if (!name) return std::unexpected(name.error());
  if (name->customer != c || name->building != b) {
    return fail(Errc::not_found, "thing '" + t + "' not found in building '" + c + "/" + b + "'");
  }
  return t;
}

Response issue_certificate(const Ctx& x) {
  auto thing = thing_in_scope(x);
  if (!thing) return error_from(thing.error());
  std::optional<std::string> csr;
  if (!x.req.body.empty()) {
    auto body = parse_object(x.req, {"csr"});
    if (!body) return std::move(body.error());
    auto member = string_member(*body, "csr", false, 1, kMaxCsrBytes);
    if (!member) return error_from(member.error());
    csr = std::move(*member);
  }
  if (!x.s.provisioning) return not_configured();
  auto issued = x.s.provisioning->register_thing(
      *thing, csr ? std::optional<std::string_view>(*csr) : std::nullopt);
  const std::string& c = x.params[0];
  if (!issued) {
    audit(x, c, "thing.certificate.issue", *thing, issued.error().message, false);
    return error_from(issued.error());
  }
  std::string detail = "serial " + issued->record.serial + (csr ? ", from CSR" : ", key by nbms");
  for (const auto& old : issued->revoked) detail += ", revoked " + old.serial;
  audit(x, c, "thing.certificate.issue", *thing, detail, true);
  Response r = json_text_response(201, std::move(issued->bundle_json));
  // Thing names are [A-Za-z0-9_-] only: safe in the quoted file name.
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + *thing + ".json\"");
  return r;
}

Response revoke_certificate(const Ctx& x) {
  auto thing = thing_in_scope(x);
  if (!thing) return error_from(thing.error());
  if (!x.s.provisioning) return not_configured();
  const std::string& c = x.params[0];
  auto revoked = x.s.provisioning->remove(*thing);
  if (!revoked) {
    audit(x, c, "thing.certificate.revoke", *thing, revoked.error().message, false);
    return error_from(revoked.error());
  }
  std::string detail;
  for (const auto& r : *revoked) detail += (detail.empty() ? "revoked " : ", ") + r.serial;
  audit(x, c, "thing.certificate.revoke", *thing, detail.empty() ? "none current" : detail, true);
  return json_response(200, {{"thing", *thing}, {"revoked", records_json(*revoked)}});
}

json purged_json(const PurgedData& p) {
  return {{"thing", p.thing},
          {"points", p.points},
          {"series", p.series},
          {"sealed_days", p.sealed_days},
          {"rows", p.rows},
          {"periodic_blocks", p.periodic_blocks},
          {"latest", p.latest},
          {"spool", p.spool},
          {"current_alarms", p.current_alarms},
          {"alarm_marks", p.alarm_marks},
          {"links", p.links}};
}

std::string purged_text(const PurgedData& p) {
  return std::to_string(p.points) + " points, " + std::to_string(p.periodic_blocks) +
         " periodic blocks, " + std::to_string(p.rows) + " unsealed rows, " +
         std::to_string(p.series) + " series entries, " + std::to_string(p.sealed_days) +
         " sealed days, " + std::to_string(p.latest) + " latest, " + std::to_string(p.spool) +
         " held messages, " + std::to_string(p.current_alarms) + " current alarms, " +
         std::to_string(p.alarm_marks) + " alarm marks, " + std::to_string(p.links) + " links";
}

// DELETE .../things/{t}?confirm=<thing>: revokes the thing's certificates as
// DELETE .../certificate does, then deletes the thing and its data. The
// confirmation must repeat the thing's name, so that a stray DELETE (a
// script, a wrong URL) cannot purge history.
Response purge_thing(const Ctx& x) {
  auto thing = thing_in_scope(x);
  if (!thing) return error_from(thing.error());
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  const auto confirm = q->get("confirm");
  if (!confirm || *confirm != *thing) {
    return error_response(400, "purging deletes the history of '" + *thing +
                                   "' for good: repeat its name as ?confirm=" + *thing);
  }
  auto registered = x.s.registry.thing(*thing);
  if (!registered) return error_from(registered.error());
  if (!x.s.provisioning) return not_configured();
  if (!x.s.purge_thing) return error_response(503, "purging things is not available");
  const std::string& c = x.params[0];
  auto revoked = x.s.provisioning->remove(*thing);
  if (!revoked) {
    audit(x, c, "thing.purge", *thing, "revoking: " + revoked.error().message, false);
    return error_from(revoked.error());
  }
  std::string serials;
  for (const auto& r : *revoked) serials += (serials.empty() ? "" : ", ") + r.serial;
  const std::string revoked_text =
      serials.empty() ? "no current certificate" : "revoked " + serials;
  auto purged = x.s.purge_thing(registered->name);
  if (!purged) {
    audit(x, c, "thing.purge", *thing, revoked_text + "; purge failed: " + purged.error().message,
          false);
    return error_from(purged.error());
  }
  audit(
      x, c, "thing.purge", *thing,
      revoked_text + "; deleted " + purged_text(*purged) +
          (purged->shared_points_kept > 0 ? "; kept " + std::to_string(purged->shared_points_kept) +
                                                " points shared with another thing"
                                          : ""),
      true);
  return json_response(200, {{"thing", *thing},
                             {"revoked", records_json(*revoked)},
                             {"deleted", purged_json(*purged)},
                             {"shared_points_kept", purged->shared_points_kept}});
}

Response get_certificate(const Ctx& x) {
  auto thing = thing_in_scope(x);
  if (!thing) return error_from(thing.error());
  if (!x.s.provisioning) return not_configured();
  auto all = x.s.provisioning->certificates(*thing);
  if (!all) return error_from(all.error());
  const std::int64_t now = x.s.clock.now_ms();
  json current = nullptr;
  for (const auto& r : *all) {
    if (!r.revoked_ms && r.not_after_ms > now &&
        (current.is_null() || r.issued_ms >= current["issued_ms"].get<std::int64_t>())) {
      current = record_json(r);
    }
  }
  return json_response(
      200, {{"thing", *thing}, {"current", current}, {"certificates", records_json(*all)}});
}

Response pem_response(std::string pem) {
  Response r = json_text_response(200, std::move(pem));
  r.content_type = std::string(kPemType);
  return r;
}

Response ca_pem(const Ctx& x) {
  if (!x.s.provisioning) return not_configured();
  return pem_response(x.s.provisioning->ca_pem());
}

Response crl_pem(const Ctx& x) {
  if (!x.s.provisioning) return not_configured();
  auto crl = x.s.provisioning->crl_pem();
  if (!crl) return error_from(crl.error());
  return pem_response(std::move(*crl));
}

}  // namespace

const std::vector<Route>& provisioning_routes() {
  static const std::vector<Route> kRoutes{
      {"POST",
       {"customers", "{}", "buildings", "{}", "things", "{}", "certificate"},
       issue_certificate},
      {"DELETE",
       {"customers", "{}", "buildings", "{}", "things", "{}", "certificate"},
       revoke_certificate},
      {"GET",
       {"customers", "{}", "buildings", "{}", "things", "{}", "certificate"},
       get_certificate},
      {"DELETE", {"customers", "{}", "buildings", "{}", "things", "{}"}, purge_thing},
      {"GET", {"pki", "ca.pem"}, ca_pem},
      {"GET", {"pki", "crl.pem"}, crl_pem, Access::admin},
  };
  return kRoutes;
}

}  // namespace nbms::http
