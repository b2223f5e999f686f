# What an agency admin does once on a fresh Redmine before tma-agent can use it; run by
# tma_agent/testing/redmine.py in `rails runner`, after the default data was loaded in its own
# process. Prints one line `TMA-REDMINE-SETUP {json}` with what the tests need.
require "json"

raise "default data missing: no trackers or statuses" unless Tracker.exists? && IssueStatus.exists?

Setting.rest_api_enabled = "1"

admin = User.find_by_login("admin")
admin.update!(must_change_passwd: false)

# Without a default activity, a time entry posted without activity_id is refused with 422.
activity = TimeEntryActivity.where(project_id: nil).order(:position).first
activity.update!(is_default: true)

# The REST API cannot create statuses: the admin adds one and lets every role reach it and leave it.
validated = IssueStatus.find_or_create_by!(name: "Validated") { |s| s.is_closed = false }
Tracker.all.each do |tracker|
  Role.givable.each do |role|
    IssueStatus.where.not(id: validated.id).each do |status|
      WorkflowTransition.find_or_create_by!(tracker: tracker, role: role, old_status: status, new_status: validated)
      WorkflowTransition.find_or_create_by!(tracker: tracker, role: role, old_status: validated, new_status: status)
    end
  end
end

def string_field(name, filter)
  IssueCustomField.find_or_create_by!(name: name) do |field|
    field.field_format = "string"
    field.is_filter = filter
    field.is_for_all = true
    field.searchable = true
    field.trackers = Tracker.all
  end
end

# The fingerprint field must be "used as a filter", else Redmine ignores cf_N= in issue queries;
# a second field left unfiltered lets the tests show that gotcha.
fingerprint = string_field("TMA fingerprint", true)
unfiltered = string_field("TMA unfiltered note", false)

puts "TMA-REDMINE-SETUP " + JSON.generate(
  api_key: admin.api_key,
  fingerprint_field_id: fingerprint.id,
  unfiltered_field_id: unfiltered.id,
  statuses: IssueStatus.all.to_h { |s| [s.name, s.id] },
  trackers: Tracker.all.to_h { |t| [t.name, t.id] },
  priorities: IssuePriority.all.to_h { |p| [p.name, p.id] },
  default_activity_id: activity.id,
  version: Redmine::VERSION.to_s
)
