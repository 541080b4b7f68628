package plugin

import "testing"

func TestQuietLogsUnlessAsked(t *testing.T) {
	for name, tc := range map[string]struct {
		env   map[string]string
		quiet bool
	}{
		"nothing asked":          {map[string]string{"PATH": "/bin"}, true},
		"TF_LOG asked":           {map[string]string{"TF_LOG": "TRACE"}, false},
		"provider logs asked":    {map[string]string{"TF_LOG_PROVIDER": "DEBUG"}, false},
		"to a file":              {map[string]string{"TF_LOG_PATH": "tf.log"}, false},
		"only this provider":     {map[string]string{"TF_LOG_PROVIDER_REMOTEACCESS": "INFO"}, false},
		"empty values ask none":  {map[string]string{"TF_LOG": ""}, true},
		"SDK level set by hand:": {map[string]string{"TF_LOG_SDK_PROTO": "TRACE"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			set := map[string]string{}
			quiet := quietLogsUnlessAsked(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok },
				func(k, v string) error { set[k] = v; return nil })
			if quiet != tc.quiet {
				t.Fatalf("quiet = %v; want %v", quiet, tc.quiet)
			}
			if quiet && (set["TF_LOG_SDK"] != "OFF" || set["TF_LOG_SDK_FRAMEWORK"] != "OFF" || set["TF_LOG_SDK_PROTO"] != "OFF") {
				t.Errorf("set %v; want every SDK logger OFF", set)
			}
			if !quiet && len(set) > 0 {
				t.Errorf("set %v although logs were asked for", set)
			}
		})
	}
}
