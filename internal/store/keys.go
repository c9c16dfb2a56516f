package store

// Key layout. Resources are keyed "<kind>/<owner account>/<id>" so that a
// caller's lookups can only ever reach its own account, and the controllers
// can list a kind across all accounts with the prefix "<kind>/".
const (
	KindAccount       = "account"
	KindAccessKey     = "accesskey"
	KindVpc           = "vpc"
	KindSubnet        = "subnet"
	KindSecurityGroup = "sg"
	KindNetworkAcl    = "acl"
	KindInstance      = "instance"
	KindENI           = "eni"
	// The ELBv2 kinds are keyed by the 16-hex suffix of the resource's ARN.
	KindLoadBalancer = "elb-lb"
	KindTargetGroup  = "elb-tg"
	KindListener     = "elb-listener"
	// KindTargetHealth holds one model.TargetHealthSet per target group,
	// keyed like the group, written by the controllers.
	KindTargetHealth = "elb-health"
	// KindEndpointService holds endpoint services under their provider
	// account, KindVpcEndpoint interface endpoints under their consumer
	// account.
	KindEndpointService = "vpce-svc"
	KindVpcEndpoint     = "vpce"
	// KindIndex holds secondary indexes: "index/<name>/<value>" → primary key.
	KindIndex = "index"
	// KindMeta holds records about the store's own deployment, not about
	// any account: "meta/<name>".
	KindMeta = "meta"
)

// OwnerIDKey is the key of the daemon's owner id: a random id, written once
// on the first start, that the daemon stamps on the network namespaces it
// creates, so that several daemons on one host tell theirs apart.
const OwnerIDKey = KindMeta + "/owner-id"

// Key returns the key of a resource of kind owned by account.
func Key(kind, account, id string) string { return kind + "/" + account + "/" + id }

// AccountPrefix returns the prefix of every resource of kind owned by account.
func AccountPrefix(kind, account string) string { return kind + "/" + account + "/" }

// KindPrefix returns the prefix of every resource of kind.
func KindPrefix(kind string) string { return kind + "/" }

// AccountKey is the key of an account record.
func AccountKey(id string) string { return KindAccount + "/" + id }

// AccessKeyKey is the key of an access key record.
func AccessKeyKey(id string) string { return KindAccessKey + "/" + id }
