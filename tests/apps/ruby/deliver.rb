# Sends one message the way a Rails app does: the app's own settings mapping (apps.rb) handed
# to the `mail` gem's SMTP delivery with net-smtp.
# Input (stdin, JSON): {"app": ..., "env": {...} or "gitlab_rb": "...", "to": ...}.
# Prints {"ok": true, ...} and exits 0, or prints {"ok": false, "error": ...} and exits 1.
require_relative "apps"

request = JSON.parse($stdin.read)
begin
  settings, from, reply_to = app_settings(request["app"], request)
  raise "no SMTP settings" if settings.nil?
  message = Mail.new
  message.from = from
  message.reply_to = reply_to if reply_to
  message.to = request["to"]
  message.subject = "smtpwizard app test"
  message.body = "hello"
  message.delivery_method(:smtp, settings)
  message.deliver!
  shown = settings.merge(password: settings[:password].nil? ? nil : "<set>")
  puts JSON.generate({ "ok" => true, "settings" => shown, "from" => message[:from].to_s })
rescue StandardError, ScriptError => e
  puts JSON.generate({ "ok" => false, "error" => "#{e.class}: #{e.message}" })
  exit 1
end
