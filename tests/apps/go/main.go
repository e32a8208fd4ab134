// Command appclients runs the Go apps' own mail code against a test server, Helm's YAML reader
// and Gitea's app.ini reader, for tests/apps. Stdlib plus Debian's gopkg.in/yaml.v2 and
// gopkg.in/ini.v1 only (GO111MODULE=off).
//
//	appclients yaml         < values.yaml     -> JSON with each scalar's Go type
//	appclients yamls        < texts.json      -> the same for a JSON list of documents
//	appclients mattermost   < request.json    -> sends one message the way Mattermost does
//	appclients sourcegraph  < request.json    -> sends one message the way Sourcegraph does
//	appclients inis         < texts.json      -> each app.ini's [mailer] keys as Gitea loads them
package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	ini "gopkg.in/ini.v1"
	yaml "gopkg.in/yaml.v2"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err == nil {
		switch os.Args[1] {
		case "yaml":
			err = dumpYAML(input)
		case "yamls":
			err = dumpYAMLs(input)
		case "inis":
			err = dumpINIs(input)
		case "mattermost":
			err = mattermost(input)
		case "sourcegraph":
			err = sourcegraph(input)
		default:
			err = fmt.Errorf("unknown mode %q", os.Args[1])
		}
	}
	if err != nil {
		fmt.Println(err.Error())
		os.Exit(1)
	}
}

// --- Helm: sigs.k8s.io/yaml reads values with go-yaml v2 (YAML 1.1 booleans, Go number syntax).

func typed(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		out := map[string]interface{}{}
		for k, item := range t {
			out[fmt.Sprint(k)] = typed(item)
		}
		return out
	case []interface{}:
		for i, item := range t {
			t[i] = typed(item)
		}
		return t
	case nil:
		return map[string]interface{}{"type": "null"}
	default:
		return map[string]interface{}{"type": reflect.TypeOf(v).Kind().String(), "value": v}
	}
}

func dumpYAML(input []byte) error {
	var doc interface{}
	if err := yaml.Unmarshal(input, &doc); err != nil {
		return err
	}
	out, err := json.Marshal(typed(doc))
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// dumpYAMLs reads a JSON list of YAML documents: one result (or {"error": ...}) each.
func dumpYAMLs(input []byte) error {
	var texts []string
	if err := json.Unmarshal(input, &texts); err != nil {
		return err
	}
	results := []interface{}{}
	for _, text := range texts {
		var doc interface{}
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			results = append(results, map[string]string{"error": err.Error()})
			continue
		}
		results = append(results, typed(doc))
	}
	out, err := json.Marshal(results)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// --- Gitea: app.ini through go-ini with the options Gitea loads it with
// (go-gitea/gitea modules/setting/config_provider.go configProviderLoadOptions).

func dumpINIs(input []byte) error {
	var texts []string
	if err := json.Unmarshal(input, &texts); err != nil {
		return err
	}
	results := []interface{}{}
	for _, text := range texts {
		cfg, err := ini.LoadSources(ini.LoadOptions{KeyValueDelimiterOnWrite: " = ", IgnoreContinuation: true}, []byte(text))
		if err != nil {
			results = append(results, map[string]string{"error": err.Error()})
			continue
		}
		keys := map[string]string{}
		for _, key := range cfg.Section("mailer").Keys() {
			keys[key.Name()] = key.Value()
		}
		results = append(results, keys)
	}
	out, err := json.Marshal(results)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

type request struct {
	Config json.RawMessage   `json:"config"` // config.json / site configuration
	Env    map[string]string `json:"env"`    // MM_* environment (Mattermost)
	To     string            `json:"to"`
}

func message(from mail.Address, to string) []byte {
	return []byte("From: " + from.String() + "\r\nTo: " + to + "\r\nSubject: smtpwizard app test\r\n\r\nhello\r\n")
}

// --- Mattermost: server/public/model/config.go (EmailSettings, SetDefaults), server/config/
// environment.go (MM_<SECTION>_<KEY> overrides), server/platform/shared/mail/mail.go (reproduced).

type emailSettings struct {
	SMTPServer                        *string
	SMTPPort                          *string
	SMTPUsername                      *string
	SMTPPassword                      *string
	EnableSMTPAuth                    *bool
	ConnectionSecurity                *string
	SkipServerCertificateVerification *bool
	SMTPServerTimeout                 *int
	FeedbackName                      *string
	FeedbackEmail                     *string
	ReplyToAddress                    *string
	SendEmailNotifications            *bool
}

// lastEmailSettings decodes config.json as Go's encoding/json does: a duplicated key's last value wins.
func lastEmailSettings(raw []byte) (emailSettings, error) {
	var doc struct{ EmailSettings emailSettings }
	err := json.Unmarshal(raw, &doc)
	return doc.EmailSettings, err
}

func applyEnv(s *emailSettings, env map[string]string) error {
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		name := "MM_EMAILSETTINGS_" + strings.ToUpper(v.Type().Field(i).Name)
		text, ok := env[name]
		if !ok {
			continue
		}
		field := v.Field(i)
		switch field.Type().Elem().Kind() {
		case reflect.String:
			field.Set(reflect.ValueOf(&text))
		case reflect.Bool:
			b, err := strconv.ParseBool(text)
			if err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			field.Set(reflect.ValueOf(&b))
		case reflect.Int:
			n, err := strconv.Atoi(text)
			if err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			field.Set(reflect.ValueOf(&n))
		}
	}
	return nil
}

func str(p *string, fallback string) string {
	if p == nil || *p == "" {
		return fallback
	}
	return *p
}

type loginAuth struct{ username, password, host string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", []byte{}, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if more {
		switch string(fromServer) {
		case "Username:":
			return []byte(a.username), nil
		case "Password:":
			return []byte(a.password), nil
		default:
			return nil, errors.New("Unknown fromServer")
		}
	}
	return nil, nil
}

type authChooser struct {
	smtp.Auth
	username, password, serverName, port string
}

func (a *authChooser) Start(server *smtp.ServerInfo) (string, []byte, error) {
	a.Auth = &loginAuth{a.username, a.password, a.serverName + ":" + a.port}
	for _, method := range server.Auth {
		if method == "PLAIN" {
			a.Auth = smtp.PlainAuth("", a.username, a.password, a.serverName+":"+a.port)
			break
		}
	}
	return a.Auth.Start(server)
}

func mattermost(input []byte) error {
	var req request
	if err := json.Unmarshal(input, &req); err != nil {
		return err
	}
	s := emailSettings{}
	if len(req.Config) > 0 {
		var err error
		if s, err = lastEmailSettings(req.Config); err != nil {
			return err
		}
	}
	if err := applyEnv(&s, req.Env); err != nil {
		return err
	}
	// SetDefaults: empty server/port fall back; auth defaults on unless security is "".
	server, port := str(s.SMTPServer, "localhost"), str(s.SMTPPort, "10025")
	security := str(s.ConnectionSecurity, "")
	if security == "PLAIN" {
		security = ""
	}
	enableAuth := security != ""
	if s.EnableSMTPAuth != nil {
		enableAuth = *s.EnableSMTPAuth
	}
	timeout := 10
	if s.SMTPServerTimeout != nil && *s.SMTPServerTimeout != 0 {
		timeout = *s.SMTPServerTimeout
	}
	skip := s.SkipServerCertificateVerification != nil && *s.SkipServerCertificateVerification
	dialer := &net.Dialer{Timeout: time.Duration(timeout) * time.Second}
	address := server + ":" + port
	var conn net.Conn
	var err error
	if security == "TLS" {
		conn, err = tls.DialWithDialer(dialer, "tcp", address, &tls.Config{InsecureSkipVerify: skip, ServerName: server})
	} else {
		conn, err = dialer.Dial("tcp", address)
	}
	if err != nil {
		return fmt.Errorf("unable to connect: %v", err)
	}
	defer conn.Close()
	c, err := smtp.NewClient(conn, server+":"+port)
	if err != nil {
		return err
	}
	if security == "STARTTLS" {
		c.StartTLS(&tls.Config{InsecureSkipVerify: skip, ServerName: server}) // Mattermost drops this error
	}
	if enableAuth {
		chooser := &authChooser{username: str(s.SMTPUsername, ""), password: str(s.SMTPPassword, ""), serverName: server, port: port}
		if err := c.Auth(chooser); err != nil {
			return fmt.Errorf("authentication failed: %v", err)
		}
	}
	from := mail.Address{Name: str(s.FeedbackName, ""), Address: str(s.FeedbackEmail, "test@example.com")}
	return deliver(c, from, req.To)
}

func deliver(c *smtp.Client, from mail.Address, to string) error {
	if err := c.Mail(from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(message(from, to)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// --- Sourcegraph: internal/txemail/txemail.go (auth switch, SendWithStartTLS when noVerifyTLS,
// else jordan-wright/email Send = net/smtp.SendMail), schema/site.schema.json (email.smtp).

type siteConfig struct {
	Address    string `json:"email.address"`
	SenderName string `json:"email.senderName"`
	SMTP       *struct {
		Host           string `json:"host"`
		Port           int    `json:"port"`
		Authentication string `json:"authentication"`
		Username       string `json:"username"`
		Password       string `json:"password"`
		Domain         string `json:"domain"`
		NoVerifyTLS    bool   `json:"noVerifyTLS"`
	} `json:"email.smtp"`
}

func sourcegraph(input []byte) error {
	var req request
	if err := json.Unmarshal(input, &req); err != nil {
		return err
	}
	var conf siteConfig
	if err := json.Unmarshal(req.Config, &conf); err != nil {
		return err
	}
	if conf.Address == "" {
		return errors.New(`no "From" email address configured (in email.address)`)
	}
	if conf.SMTP == nil {
		return errors.New("no SMTP server configured (in email.smtp)")
	}
	var auth smtp.Auth
	switch conf.SMTP.Authentication {
	case "none":
	case "PLAIN":
		auth = smtp.PlainAuth("", conf.SMTP.Username, conf.SMTP.Password, conf.SMTP.Host)
	case "CRAM-MD5":
		auth = smtp.CRAMMD5Auth(conf.SMTP.Username, conf.SMTP.Password)
	default:
		return fmt.Errorf("invalid SMTP authentication type %q", conf.SMTP.Authentication)
	}
	address := net.JoinHostPort(conf.SMTP.Host, strconv.Itoa(conf.SMTP.Port))
	from := mail.Address{Address: conf.Address}
	if !conf.SMTP.NoVerifyTLS {
		return smtp.SendMail(address, auth, conf.Address, []string{req.To}, message(from, req.To))
	}
	// jordan-wright/email SendWithStartTLS: HELO localhost, STARTTLS if offered, AUTH if offered.
	c, err := smtp.Dial(address)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			return err
		}
	}
	if auth != nil {
		if ok, _ := c.Extension("AUTH"); ok {
			if err := c.Auth(auth); err != nil {
				return err
			}
		}
	}
	return deliver(c, from, req.To)
}
