package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

var (
	_ RunInstancesAPI           = (*API)(nil)
	_ DescribeInstancesAPI      = (*API)(nil)
	_ TerminateInstancesAPI     = (*API)(nil)
	_ StopInstancesAPI          = (*API)(nil)
	_ StartInstancesAPI         = (*API)(nil)
	_ DescribeInstanceStatusAPI = (*API)(nil)
	_ GetConsoleOutputAPI       = (*API)(nil)
)

// stateOut converts a state name and its code.
func stateOut(name string, code int32) *InstanceState {
	return &InstanceState{Code: new(code), Name: new(name)}
}

// instanceOut converts an instance to its wire form. Fields privlink
// instances do not have (public addresses, block devices, key pairs,
// metadata options, …) are left out; the fixed ones are the control
// plane's constants, which its filters match.
func instanceOut(i controlplane.Instance) Instance {
	out := Instance{
		InstanceId:            new(i.ID),
		ImageId:               new(i.ImageID),
		InstanceType:          new(i.InstanceType),
		State:                 stateOut(i.State, i.StateCode),
		StateTransitionReason: wireconv.OptString(i.StateTransitionReason),
		LaunchTime:            new(i.LaunchTime),
		AmiLaunchIndex:        new(i.AmiLaunchIndex),
		ClientToken:           wireconv.OptString(i.ClientToken),
		VpcId:                 wireconv.OptString(i.VpcID),
		SubnetId:              wireconv.OptString(i.SubnetID),
		PrivateIpAddress:      wireconv.OptString(i.PrivateIP),
		PrivateDnsName:        wireconv.OptString(i.PrivateDNSName),
		Placement: &Placement{
			AvailabilityZone:   new(i.AvailabilityZone),
			AvailabilityZoneId: wireconv.OptString(i.AvailabilityZoneID),
			GroupName:          new(""),
			Tenancy:            new(controlplane.InstanceTenancy),
		},
		Architecture:       new(controlplane.InstanceArchitecture),
		Hypervisor:         new(controlplane.InstanceHypervisor),
		VirtualizationType: new(controlplane.InstanceVirtualizationType),
		RootDeviceType:     new(controlplane.InstanceRootDeviceType),
		RootDeviceName:     new(controlplane.InstanceRootDeviceName),
		PlatformDetails:    new(controlplane.InstancePlatformDetails),
		UsageOperation:     new(controlplane.InstanceUsageOperation),
		Monitoring:         &Monitoring{State: new(controlplane.InstanceMonitoringState)},
		EbsOptimized:       new(false),
		EnaSupport:         new(true),
		EnclaveOptions:     &EnclaveOptions{Enabled: new(false)},
		HibernationOptions: &HibernationOptions{Configured: new(false)},
		PrivateDnsNameOptions: &PrivateDnsNameOptionsResponse{
			HostnameType:                    new(controlplane.HostnameTypeIPName),
			EnableResourceNameDnsARecord:    new(false),
			EnableResourceNameDnsAAAARecord: new(false),
		},
		SecurityGroups: groupsOut(i.Groups),
		Tags:           tagsOut(i.Tags),
	}
	if i.StateReason != "" {
		out.StateReason = &StateReason{Code: new(i.StateReason), Message: new(i.StateReasonMessage)}
	}
	if len(i.NetworkInterfaces) > 0 {
		out.SourceDestCheck = new(i.SourceDestCheck)
		out.NetworkInterfaces = wireconv.All(i.NetworkInterfaces, instanceENIOut)
	}
	return out
}

// instanceENIOut converts an instance's network interface to its
// networkInterfaceSet item.
func instanceENIOut(e controlplane.NetworkInterface) InstanceNetworkInterface {
	out := InstanceNetworkInterface{
		NetworkInterfaceId: new(e.ID),
		OwnerId:            new(e.OwnerID),
		VpcId:              new(e.VpcID),
		SubnetId:           new(e.SubnetID),
		Description:        new(e.Description),
		InterfaceType:      new(e.InterfaceType),
		Status:             new(e.Status),
		MacAddress:         new(e.MacAddress),
		PrivateIpAddress:   new(e.PrivateIP),
		PrivateDnsName:     wireconv.OptString(e.PrivateDNSName),
		PrivateIpAddresses: []InstancePrivateIpAddress{{
			PrivateIpAddress: new(e.PrivateIP),
			PrivateDnsName:   wireconv.OptString(e.PrivateDNSName),
			Primary:          new(true),
		}},
		SourceDestCheck: new(e.SourceDestCheck),
		Groups:          groupsOut(e.GroupSet),
	}
	if e.AttachmentID != "" {
		out.Attachment = &InstanceNetworkInterfaceAttachment{
			AttachmentId:        new(e.AttachmentID),
			DeviceIndex:         new(e.DeviceIndex),
			Status:              new(model.AttachmentAttached),
			AttachTime:          new(e.AttachTime),
			DeleteOnTermination: new(e.DeleteOnTermination),
		}
	}
	return out
}

// reservationOut converts a reservation. Its own groupSet is empty in a
// VPC, and AWS sends it empty.
func reservationOut(r controlplane.Reservation) Reservation {
	return Reservation{
		ReservationId: new(r.ReservationID),
		OwnerId:       new(r.OwnerID),
		Groups:        []GroupIdentifier{},
		Instances:     wireconv.All(r.Instances, instanceOut),
	}
}

// stateChangesOut converts the answer of Terminate/Stop/StartInstances.
func stateChangesOut(in []controlplane.InstanceStateChange) []InstanceStateChange {
	return wireconv.All(in, func(c controlplane.InstanceStateChange) InstanceStateChange {
		return InstanceStateChange{
			InstanceId:    new(c.InstanceID),
			PreviousState: stateOut(c.PreviousState, model.InstanceStateCode[c.PreviousState]),
			CurrentState:  stateOut(c.CurrentState, model.InstanceStateCode[c.CurrentState]),
		}
	})
}

// RunInstances implements RunInstancesAPI. Parameters the control plane
// does not model and that change nothing in the network (BlockDeviceMapping.N,
// KeyName, …) are not passed on; NetworkInterface.N is.
func (a *API) RunInstances(ctx context.Context, req *awsapi.Request, in *RunInstancesInput) (*RunInstancesOutput, error) {
	r, err := a.cp.RunInstances(ctx, req.Caller.AccountID, controlplane.RunInstancesInput{
		ImageID:           wireconv.Deref(in.ImageId),
		InstanceType:      wireconv.Deref(in.InstanceType),
		MinCount:          in.MinCount,
		MaxCount:          in.MaxCount,
		SubnetID:          wireconv.Deref(in.SubnetId),
		SecurityGroupIDs:  in.SecurityGroupIds,
		SecurityGroups:    in.SecurityGroups,
		PrivateIPAddress:  wireconv.Deref(in.PrivateIpAddress),
		NetworkInterfaces: wireconv.AllOrNil(in.NetworkInterfaces, runNetworkInterfaceIn),
		UserData:          wireconv.Deref(in.UserData),
		TagSpecs:          tagSpecsIn(in.TagSpecifications),
		ClientToken:       wireconv.Deref(in.ClientToken),
		DryRun:            wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := RunInstancesOutput(reservationOut(r))
	return &out, nil
}

// runNetworkInterfaceIn converts one NetworkInterface.N of RunInstances.
func runNetworkInterfaceIn(ni InstanceNetworkInterfaceSpecification) controlplane.RunNetworkInterface {
	return controlplane.RunNetworkInterface{
		DeviceIndex:         ni.DeviceIndex,
		NetworkCardIndex:    ni.NetworkCardIndex,
		NetworkInterfaceID:  wireconv.Deref(ni.NetworkInterfaceId),
		SubnetID:            wireconv.Deref(ni.SubnetId),
		GroupIDs:            ni.Groups,
		PrivateIPAddress:    wireconv.Deref(ni.PrivateIpAddress),
		Description:         wireconv.Deref(ni.Description),
		InterfaceType:       wireconv.Deref(ni.InterfaceType),
		DeleteOnTermination: ni.DeleteOnTermination,
		PublicIP:            wireconv.Deref(ni.AssociatePublicIpAddress) || wireconv.Deref(ni.AssociateCarrierIpAddress),
		SecondaryIPv4: len(ni.PrivateIpAddresses) > 0 || ni.SecondaryPrivateIpAddressCount != nil ||
			ni.Ipv4PrefixCount != nil || len(ni.Ipv4Prefixes) > 0,
		IPv6: ni.Ipv6AddressCount != nil || len(ni.Ipv6Addresses) > 0 || ni.Ipv6PrefixCount != nil ||
			len(ni.Ipv6Prefixes) > 0 || wireconv.Deref(ni.PrimaryIpv6),
	}
}

// DescribeInstances implements DescribeInstancesAPI.
func (a *API) DescribeInstances(ctx context.Context, req *awsapi.Request, in *DescribeInstancesInput) (*DescribeInstancesOutput, error) {
	res, err := a.cp.DescribeInstances(ctx, req.Caller.AccountID, controlplane.DescribeInstancesInput{
		InstanceIDs:             in.InstanceIds,
		Filters:                 filtersIn(in.Filters),
		Page:                    pageIn(in.MaxResults, in.NextToken),
		IncludeManagedResources: wireconv.Deref(in.IncludeManagedResources),
		DryRun:                  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeInstancesOutput{Reservations: wireconv.All(res.Reservations, reservationOut), NextToken: wireconv.OptString(res.NextToken)}, nil
}

// TerminateInstances implements TerminateInstancesAPI.
func (a *API) TerminateInstances(ctx context.Context, req *awsapi.Request, in *TerminateInstancesInput) (*TerminateInstancesOutput, error) {
	changes, err := a.cp.TerminateInstances(ctx, req.Caller.AccountID, controlplane.TerminateInstancesInput{
		InstanceIDs:    in.InstanceIds,
		Force:          wireconv.Deref(in.Force),
		SkipOsShutdown: wireconv.Deref(in.SkipOsShutdown),
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &TerminateInstancesOutput{TerminatingInstances: stateChangesOut(changes)}, nil
}

// StopInstances implements StopInstancesAPI.
func (a *API) StopInstances(ctx context.Context, req *awsapi.Request, in *StopInstancesInput) (*StopInstancesOutput, error) {
	changes, err := a.cp.StopInstances(ctx, req.Caller.AccountID, controlplane.StopInstancesInput{
		InstanceIDs:    in.InstanceIds,
		Force:          wireconv.Deref(in.Force),
		Hibernate:      wireconv.Deref(in.Hibernate),
		SkipOsShutdown: wireconv.Deref(in.SkipOsShutdown),
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &StopInstancesOutput{StoppingInstances: stateChangesOut(changes)}, nil
}

// StartInstances implements StartInstancesAPI. AdditionalInfo is reserved
// and not passed on.
func (a *API) StartInstances(ctx context.Context, req *awsapi.Request, in *StartInstancesInput) (*StartInstancesOutput, error) {
	changes, err := a.cp.StartInstances(ctx, req.Caller.AccountID, controlplane.StartInstancesInput{
		InstanceIDs: in.InstanceIds,
		DryRun:      wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &StartInstancesOutput{StartingInstances: stateChangesOut(changes)}, nil
}

// statusSummaryOut converts an instanceStatus or systemStatus: its one
// detail is "reachability", when the control plane reports it.
func statusSummaryOut(s controlplane.StatusSummary) *InstanceStatusSummary {
	out := &InstanceStatusSummary{Status: new(s.Status)}
	if s.Reachability != "" {
		out.Details = []InstanceStatusDetails{{Name: new("reachability"), Status: new(s.Reachability)}}
	}
	return out
}

// ebsStatusSummaryOut is statusSummaryOut for attachedEbsStatus.
func ebsStatusSummaryOut(s controlplane.StatusSummary) *EbsStatusSummary {
	out := &EbsStatusSummary{Status: new(s.Status)}
	if s.Reachability != "" {
		out.Details = []EbsStatusDetails{{Name: new("reachability"), Status: new(s.Reachability)}}
	}
	return out
}

// DescribeInstanceStatus implements DescribeInstanceStatusAPI.
func (a *API) DescribeInstanceStatus(ctx context.Context, req *awsapi.Request, in *DescribeInstanceStatusInput) (*DescribeInstanceStatusOutput, error) {
	res, err := a.cp.DescribeInstanceStatus(ctx, req.Caller.AccountID, controlplane.DescribeInstanceStatusInput{
		InstanceIDs:             in.InstanceIds,
		Filters:                 filtersIn(in.Filters),
		Page:                    pageIn(in.MaxResults, in.NextToken),
		IncludeAllInstances:     wireconv.Deref(in.IncludeAllInstances),
		IncludeManagedResources: wireconv.Deref(in.IncludeManagedResources),
		DryRun:                  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeInstanceStatusOutput{InstanceStatuses: wireconv.All(res.InstanceStatuses, instanceStatusOut), NextToken: wireconv.OptString(res.NextToken)}, nil
}

// instanceStatusOut converts one instance's status.
func instanceStatusOut(st controlplane.InstanceStatus) InstanceStatus {
	return InstanceStatus{
		InstanceId:         new(st.InstanceID),
		AvailabilityZone:   new(st.AvailabilityZone),
		AvailabilityZoneId: wireconv.OptString(st.AvailabilityZoneID),
		InstanceState:      stateOut(st.State, st.StateCode),
		InstanceStatus:     statusSummaryOut(st.InstanceStatus),
		SystemStatus:       statusSummaryOut(st.SystemStatus),
		AttachedEbsStatus:  ebsStatusSummaryOut(st.AttachedEBSStatus),
	}
}

// GetConsoleOutput implements GetConsoleOutputAPI. Output is left out
// while the instance has written nothing.
func (a *API) GetConsoleOutput(ctx context.Context, req *awsapi.Request, in *GetConsoleOutputInput) (*GetConsoleOutputOutput, error) {
	co, err := a.cp.GetConsoleOutput(ctx, req.Caller.AccountID, controlplane.GetConsoleOutputInput{
		InstanceID: wireconv.Deref(in.InstanceId),
		Latest:     wireconv.Deref(in.Latest),
		DryRun:     wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &GetConsoleOutputOutput{InstanceId: new(co.InstanceID), Timestamp: new(co.Timestamp), Output: wireconv.OptString(co.Output)}, nil
}
