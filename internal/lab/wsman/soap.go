package wsman

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// WS-Management action URIs: the request action and the action its response carries.
const (
	actionCreate        = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	actionDelete        = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionCommand       = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	actionSend          = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	actionReceive       = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	actionSignal        = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
	actionFault         = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
	resourceURIShellCmd = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
	commandStateDone    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
	commandStateRunning = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
	signalTerminate     = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	soapContentType     = "application/soap+xml;charset=UTF-8"
)

// actionNames are the short names the counters use.
var actionNames = map[string]string{
	actionCreate:  "Create",
	actionDelete:  "Delete",
	actionCommand: "Command",
	actionSend:    "Send",
	actionReceive: "Receive",
	actionSignal:  "Signal",
}

// Windows fault codes (WSManFault Code attribute) the lab produces.
const (
	CodeInvalidShell     = 2150858843 // the shell id is unknown (or the shell belongs to another user)
	CodeShellQuota       = 2150859173 // ERROR_WSMAN_QUOTA_MAX_SHELLS: MaxShellsPerUser exceeded
	CodeOperationQuota   = 2150859174 // ERROR_WSMAN_QUOTA_MAX_OPERATIONS: MaxConcurrentOperationsPerUser exceeded; the injected quota fault
	CodeShellsNotAllowed = 2150859180 // ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED: AllowRemoteShellAccess is false
	CodeOperationTimeout = 2150858793 // a Receive found no output within the operation timeout; the client polls again
	codeActionNotFound   = 2150858771
	codeInvalidRequest   = 2150858817
)

// request is the part of a WS-Management SOAP envelope the shell plugin needs. Elements are matched by local
// name inside the namespaced Header and Body, which is how WinRM clients of every vintage are read.
type request struct {
	Header struct {
		Action           string     `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string     `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		OperationTimeout string     `xml:"OperationTimeout"`
		Selectors        []selector `xml:"SelectorSet>Selector"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		CommandLine *struct {
			Command   string   `xml:"Command"`
			Arguments []string `xml:"Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Send *struct {
			Streams []stream `xml:"Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
			} `xml:"DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
		Shell *struct {
			IdleTimeOut string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell IdleTimeOut"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

type selector struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

type stream struct {
	Name      string `xml:"Name,attr"`
	CommandID string `xml:"CommandId,attr"`
	End       string `xml:"End,attr"`
	Data      string `xml:",chardata"`
}

func parseRequest(body []byte) (*request, error) {
	var r request
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("parsing SOAP envelope: %w", err)
	}
	if r.Header.Action == "" {
		return nil, fmt.Errorf("SOAP envelope has no a:Action header")
	}
	return &r, nil
}

func (r *request) selector(name string) string {
	for _, s := range r.Header.Selectors {
		if strings.EqualFold(s.Name, name) {
			return strings.TrimSpace(s.Value)
		}
	}
	return ""
}

// operationTimeout reads the w:OperationTimeout header (an xs:duration such as PT60S or PT7.5S).
func (r *request) operationTimeout() time.Duration {
	v := strings.TrimSpace(r.Header.OperationTimeout)
	if !strings.HasPrefix(v, "PT") || !strings.HasSuffix(v, "S") {
		return 0
	}
	secs, err := strconv.ParseFloat(v[2:len(v)-1], 64)
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

const envelopeOpen = `<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
	`xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" ` +
	`xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" ` +
	`xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">`

// envelope wraps a response body the way Windows does: action, fresh message id, and RelatesTo the request.
func envelope(action, relatesTo, body string) string {
	var b strings.Builder
	b.WriteString(envelopeOpen)
	b.WriteString(`<s:Header><a:Action>`)
	b.WriteString(esc(action))
	b.WriteString(`</a:Action><a:MessageID>uuid:`)
	b.WriteString(strings.ToUpper(uuid.NewString()))
	b.WriteString(`</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>`)
	b.WriteString(esc(relatesTo))
	b.WriteString(`</a:RelatesTo></s:Header><s:Body>`)
	b.WriteString(body)
	b.WriteString(`</s:Body></s:Envelope>`)
	return b.String()
}

// Fault is a WS-Management SOAP fault, sent with HTTP status 500.
type Fault struct {
	Code    uint32 // WSManFault Code, a Windows error number
	Subcode string // e.g. w:InvalidSelectors
	Sender  bool   // s:Sender (the request is wrong) rather than s:Receiver
	Message string
}

func (f *Fault) Error() string { return fmt.Sprintf("WS-Management fault %d: %s", f.Code, f.Message) }

func (f *Fault) render(machine, relatesTo string) string {
	value := "s:Receiver"
	if f.Sender {
		value = "s:Sender"
	}
	body := fmt.Sprintf(`<s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>`+
		`<s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason><s:Detail>`+
		`<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="%d" Machine="%s">`+
		`<f:Message>%s</f:Message></f:WSManFault></s:Detail></s:Fault>`,
		value, esc(f.Subcode), esc(f.Message), f.Code, esc(machine), esc(f.Message))
	return envelope(actionFault, relatesTo, body)
}

func invalidShellFault(shellID string) *Fault {
	return &Fault{
		Code: CodeInvalidShell, Subcode: "w:InvalidSelectors", Sender: true,
		Message: "The request for the Windows Remote Shell with ShellId " + shellID + " failed because the shell was not " +
			"found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists " +
			"on the server. Provide the correct ShellId or create a new shell and retry the operation.",
	}
}

func shellQuotaFault(limit int) *Fault {
	return &Fault{
		Code: CodeShellQuota, Subcode: "w:QuotaLimit",
		Message: fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum "+
			"number of %d concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.", limit),
	}
}

// operationQuotaFault is what a busy server answers any request with when the account has too many operations in
// flight (MaxConcurrentOperationsPerUser, 1500 by default on Windows).
func operationQuotaFault() *Fault {
	return &Fault{
		Code: CodeOperationQuota, Subcode: "w:QuotaLimit",
		Message: "The WS-Management service cannot process the request. This user is allowed a maximum number of 1500 " +
			"concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user.",
	}
}

// shellsNotAllowedFault refuses a new shell when AllowRemoteShellAccess is false: MS-WSMV 2.2.4.42 says the server
// "MUST reply with a wsman:InternalError fault"; the code is the Windows SDK's ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED
// and the text the one Windows prints (internal/lab/WINDOWS.md, WinRM).
func shellsNotAllowedFault() *Fault {
	return &Fault{
		Code: CodeShellsNotAllowed, Subcode: "w:InternalError",
		Message: "The WS-Management service cannot process the request. The service is configured to not accept any remote shell requests.",
	}
}

func operationTimeoutFault() *Fault {
	return &Fault{
		Code: CodeOperationTimeout, Subcode: "w:TimedOut",
		Message: "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
	}
}

func invalidRequestFault(format string, args ...any) *Fault {
	return &Fault{Code: codeInvalidRequest, Subcode: "w:InvalidParameter", Sender: true, Message: fmt.Sprintf(format, args...)}
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
