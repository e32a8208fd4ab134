ORIGINAL_ENV = ENV.to_h.freeze

# Each Rails app's settings mapping, reproduced from its source (cited per app): used by
# deliver.rb (send one message) and read_many.rb (what the app reads from many exports).
require "json"
require "yaml"
require "erb"
require "mail"

def present(value)
  value.nil? || value.to_s.strip.empty? ? nil : value
end

# mastodon/mastodon config/email.yml (rendered with ERB, then read as YAML by config_for) and
# lib/mastodon/email_configuration_helper.rb (convert_smtp_settings).
def mastodon(env)
  template = <<~'YAML'
    production:
      from_address: <%= ENV.fetch('SMTP_FROM_ADDRESS', 'notifications@localhost') %>
      reply_to: <%= ENV.fetch('SMTP_REPLY_TO', nil) %>
      smtp_settings:
        port: <%= ENV.fetch('SMTP_PORT', nil) %>
        address: <%= ENV.fetch('SMTP_SERVER', nil) %>
        user_name: <%= ENV.fetch('SMTP_LOGIN', nil) %>
        password: <%= ENV.fetch('SMTP_PASSWORD', nil) %>
        domain: <%= ENV.fetch('SMTP_DOMAIN', ENV.fetch('LOCAL_DOMAIN', nil)) %>
        authentication: <%= ENV.fetch('SMTP_AUTH_METHOD', 'plain') %>
        ca_file: <%= ENV.fetch('SMTP_CA_FILE', '/etc/ssl/certs/ca-certificates.crt') %>
        openssl_verify_mode: <%= ENV.fetch('SMTP_OPENSSL_VERIFY_MODE', nil) %>
        enable_starttls: <%= ENV.fetch('SMTP_ENABLE_STARTTLS', nil) %>
        enable_starttls_auto: <%= ENV.fetch('SMTP_ENABLE_STARTTLS_AUTO', true) != 'false' %>
        tls: <%= ENV.fetch('SMTP_TLS', false) == 'true' ? true : nil %>
        ssl: <%= ENV.fetch('SMTP_SSL', false) == 'true' ? true : nil %>
        read_timeout: 20
  YAML
  ENV.replace(ORIGINAL_ENV.merge(env))
  config = YAML.safe_load(ERB.new(template).result, aliases: true)["production"]
  smtp = config["smtp_settings"].transform_keys(&:to_sym)
  enable_starttls = nil
  enable_starttls_auto = nil
  case smtp[:enable_starttls]
  when "always" then enable_starttls = true
  when "never" then enable_starttls = false
  when "auto" then enable_starttls_auto = true
  else enable_starttls_auto = smtp[:enable_starttls_auto] != "false"
  end
  authentication = smtp[:authentication] == "none" ? nil : (smtp[:authentication] || "plain")
  smtp = smtp.merge(authentication: authentication, enable_starttls: enable_starttls,
                    enable_starttls_auto: enable_starttls_auto)
  # mail 2.8 (Mastodon's Gemfile.lock) refuses both; Debian's mail 2.7 would silently pick TLS.
  if smtp[:enable_starttls] && (smtp[:tls] || smtp[:ssl])
    raise ArgumentError, ":enable_starttls and :tls are mutually exclusive. Set :tls if you're on an SMTPS connection. Set :enable_starttls if you're on an SMTP connection and using STARTTLS for secure TLS upgrade."
  end
  [smtp, config["from_address"], config["reply_to"]]
end

# discourse/discourse app/models/global_setting.rb: EnvProvider reads DISCOURSE_<KEY>,
# BaseProvider.coerce turns "true"/"false" into booleans and digit strings into integers,
# smtp_settings builds the hash; config/discourse_defaults.conf gives the defaults.
DISCOURSE_DEFAULTS = {
  "smtp_port" => "25", "smtp_enable_start_tls" => "true", "smtp_authentication" => "plain",
  "smtp_force_tls" => "false", "smtp_open_timeout" => "5", "smtp_read_timeout" => "30",
}.freeze

def discourse_coerce(setting)
  return setting == "true" if setting == "true" || setting == "false"
  return $1.to_i if setting.to_s.strip =~ /\A(-?[0-9]+)\z/
  setting
end

def discourse(env)
  get = lambda do |key|
    current = env["DISCOURSE_#{key.upcase}"]
    default = current.nil? ? DISCOURSE_DEFAULTS[key] : nil
    discourse_coerce(present(current) || present(default))
  end
  return [nil, nil, nil] unless get.("smtp_address")
  settings = {
    address: get.("smtp_address"), port: get.("smtp_port"), domain: get.("smtp_domain"),
    user_name: get.("smtp_user_name"), password: get.("smtp_password"),
    enable_starttls_auto: !get.("smtp_force_tls") && get.("smtp_enable_start_tls"),
    open_timeout: get.("smtp_open_timeout").to_f, read_timeout: get.("smtp_read_timeout").to_f,
  }
  settings[:authentication] = get.("smtp_authentication") if settings[:password] || settings[:user_name]
  verify = get.("smtp_openssl_verify_mode")
  settings[:openssl_verify_mode] = verify if verify
  settings[:tls] = true if get.("smtp_force_tls")
  [settings.compact, get.("notification_email"), nil]
end

# gitlabhq/omnibus-gitlab: gitlab.rb is Ruby evaluated into gitlab_rails[...];
# templates/default/smtp_settings.rb.erb renders each set key with value.inspect;
# templates/default/gitlab.yml.erb writes email_from/email_display_name/email_reply_to
# unquoted into gitlab.yml (read with YAML); app/mailers/notify.rb formats the sender.
SMTP_TEMPLATE = <<~'ERB'
  {
    authentication: <%= auth.inspect %>,
  <% %w{address port user_name password domain enable_starttls_auto tls ssl openssl_verify_mode ca_path ca_file open_timeout read_timeout}.each do |key| %>
  <% if value = rails["smtp_#{key}"] %>
    <%= "#{key}: #{value.inspect}," %>
  <% end %>
  <% end %>
  }
ERB

GITLAB_YML = <<~'ERB'
  production: &base
    gitlab:
      email_from: <%= rails['gitlab_email_from'] %>
      email_display_name: <%= rails['gitlab_email_display_name'] %>
      email_reply_to: <%= rails['gitlab_email_reply_to'] %>
ERB

def gitlab(source)
  rails = Hash.new
  gitlab_rails = rails
  eval(source, binding) # what gitlab-ctl reconfigure does with /etc/gitlab/gitlab.rb
  raise "smtp_enable is not true" unless rails["smtp_enable"]
  if rails["smtp_tls"] && rails["smtp_enable_starttls_auto"]
    raise "gitlab_rails['smtp_tls'] and gitlab_rails['smtp_enable_starttls_auto'] are mutually exclusive"
  end
  method = rails["smtp_authentication"]
  auth = [nil, false, "none", ""].include?(method) ? nil : method.to_s.to_sym
  settings = eval(ERB.new(SMTP_TEMPLATE).result(binding)) # rubocop: the rendered initializer
  yml = YAML.safe_load(ERB.new(GITLAB_YML).result(binding), aliases: true)["production"]["gitlab"]
  from = Mail::Address.new(yml["email_from"].to_s)
  from.display_name = yml["email_display_name"] if yml["email_display_name"]
  [settings, from.format, yml["email_reply_to"]]
end

# forem/forem app/models/settings/smtp.rb: each field defaults to ApplicationConfig[...] (ENV)
# .presence; port is an integer, authentication defaults to "plain"; SMTP is used only when
# address, user_name and password are all present; DEFAULT_EMAIL is the sender.
def forem(env)
  fields = {
    address: present(env["SMTP_ADDRESS"]), port: (present(env["SMTP_PORT"]) || 25).to_i,
    authentication: present(env["SMTP_AUTHENTICATION"]) || "plain",
    user_name: present(env["SMTP_USER_NAME"]), password: present(env["SMTP_PASSWORD"]),
    domain: present(env["SMTP_DOMAIN"]),
  }
  raise "Forem falls back to SendGrid: address, user_name and password are not all set" unless
    fields[:address] && fields[:user_name] && fields[:password]
  [fields.compact, env["DEFAULT_EMAIL"], nil]
end


def app_settings(app, request)
  env = request["env"] || {}
  case app
  when "mastodon" then mastodon(env)
  when "discourse" then discourse(env)
  when "gitlab" then gitlab(request["gitlab_rb"])
  when "forem" then forem(env)
  else raise "unknown app #{app}"
  end
end
