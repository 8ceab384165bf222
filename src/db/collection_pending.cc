// TEMPORARY: placeholders for Collection methods under construction; each owner deletes its
// functions from here when the real ones land. This file is gone before the work is submitted.
#include "db/collection_impl.h"

namespace vecdex {
std::string_view PayloadFieldTypeName(PayloadFieldType) { return "keyword"; }
std::optional<PayloadFieldType> ParsePayloadFieldType(std::string_view) { return std::nullopt; }
}  // namespace vecdex

namespace vecdex::db {
static Status Pending(const char* what) { return Status::Internal(std::string(what) + ": not yet"); }

Result<WriteSummary> CollectionImpl::DeletePayloadFields(std::span<const PointKey>, std::span<const std::string>) {
  return Pending("DeletePayloadFields");
}
Result<WriteSummary> CollectionImpl::DeleteWhere(const Filter&) { return Pending("DeleteWhere"); }
Result<uint64_t> CollectionImpl::CountWhere(const Filter&) { return Pending("CountWhere"); }
Status CollectionImpl::CreatePayloadIndex(std::string_view, PayloadFieldType) { return Pending("CreatePayloadIndex"); }
Status CollectionImpl::DropPayloadIndex(std::string_view) { return Pending("DropPayloadIndex"); }
Status CollectionImpl::StartRebuild(const RebuildOptions&) { return Pending("StartRebuild"); }
RebuildStatus CollectionImpl::WaitForRebuild() { return {}; }
Status CollectionImpl::Backup(const std::string&) { return Pending("Backup"); }
}  // namespace vecdex::db
