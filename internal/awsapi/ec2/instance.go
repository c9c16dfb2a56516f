package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
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
	return &InstanceState{Code: ptr(code), Name: ptr(name)}
}

// instanceOut converts an instance to its wire form. Fields privlink
// instances do not have (public addresses, block devices, key pairs,
// metadata options, …) are left out; the fixed ones are the control
// plane's constants, which its filters match.
func instanceOut(i controlplane.Instance) Instance {
	out := Instance{
		InstanceId:            ptr(i.ID),
		ImageId:               ptr(i.ImageID),
		InstanceType:          ptr(i.InstanceType),
		State:                 stateOut(i.State, i.StateCode),
		StateTransitionReason: optStr(i.StateTransitionReason),
		LaunchTime:            ptr(i.LaunchTime),
		AmiLaunchIndex:        ptr(i.AmiLaunchIndex),
		ClientToken:           optStr(i.ClientToken),
		VpcId:                 optStr(i.VpcID),
		SubnetId:              optStr(i.SubnetID),
		PrivateIpAddress:      optStr(i.PrivateIP),
		PrivateDnsName:        optStr(i.PrivateDNSName),
		Placement: &Placement{
			AvailabilityZone:   ptr(i.AvailabilityZone),
			AvailabilityZoneId: optStr(i.AvailabilityZoneID),
			GroupName:          ptr(""),
			Tenancy:            ptr(controlplane.InstanceTenancy),
		},
		Architecture:       ptr(controlplane.InstanceArchitecture),
		Hypervisor:         ptr(controlplane.InstanceHypervisor),
		VirtualizationType: ptr(controlplane.InstanceVirtualizationType),
		RootDeviceType:     ptr(controlplane.InstanceRootDeviceType),
		RootDeviceName:     ptr(controlplane.InstanceRootDeviceName),
		PlatformDetails:    ptr(controlplane.InstancePlatformDetails),
		UsageOperation:     ptr(controlplane.InstanceUsageOperation),
		Monitoring:         &Monitoring{State: ptr(controlplane.InstanceMonitoringState)},
		EbsOptimized:       ptr(false),
		EnaSupport:         ptr(true),
		EnclaveOptions:     &EnclaveOptions{Enabled: ptr(false)},
		HibernationOptions: &HibernationOptions{Configured: ptr(false)},
		PrivateDnsNameOptions: &PrivateDnsNameOptionsResponse{
			HostnameType:                    ptr(controlplane.HostnameTypeIPName),
			EnableResourceNameDnsARecord:    ptr(false),
			EnableResourceNameDnsAAAARecord: ptr(false),
		},
		SecurityGroups: groupsOut(i.Groups),
		Tags:           tagsOut(i.Tags),
	}
	if i.StateReason != "" {
		out.StateReason = &StateReason{Code: ptr(i.StateReason), Message: ptr(i.StateReasonMessage)}
	}
	if len(i.NetworkInterfaces) > 0 {
		out.SourceDestCheck = ptr(i.SourceDestCheck)
		out.NetworkInterfaces = make([]InstanceNetworkInterface, 0, len(i.NetworkInterfaces))
		for _, e := range i.NetworkInterfaces {
			out.NetworkInterfaces = append(out.NetworkInterfaces, instanceENIOut(e))
		}
	}
	return out
}

// instanceENIOut converts an instance's network interface to its
// networkInterfaceSet item.
func instanceENIOut(e controlplane.NetworkInterface) InstanceNetworkInterface {
	out := InstanceNetworkInterface{
		NetworkInterfaceId: ptr(e.ID),
		OwnerId:            ptr(e.OwnerID),
		VpcId:              ptr(e.VpcID),
		SubnetId:           ptr(e.SubnetID),
		Description:        ptr(e.Description),
		InterfaceType:      ptr(e.InterfaceType),
		Status:             ptr(e.Status),
		MacAddress:         ptr(e.MacAddress),
		PrivateIpAddress:   ptr(e.PrivateIP),
		PrivateDnsName:     optStr(e.PrivateDNSName),
		PrivateIpAddresses: []InstancePrivateIpAddress{{
			PrivateIpAddress: ptr(e.PrivateIP),
			PrivateDnsName:   optStr(e.PrivateDNSName),
			Primary:          ptr(true),
		}},
		SourceDestCheck: ptr(e.SourceDestCheck),
		Groups:          groupsOut(e.GroupSet),
	}
	if e.AttachmentID != "" {
		out.Attachment = &InstanceNetworkInterfaceAttachment{
			AttachmentId:        ptr(e.AttachmentID),
			DeviceIndex:         ptr(e.DeviceIndex),
			Status:              ptr(model.AttachmentAttached),
			AttachTime:          ptr(e.AttachTime),
			DeleteOnTermination: ptr(e.DeleteOnTermination),
		}
	}
	return out
}

// reservationOut converts a reservation. Its own groupSet is empty in a
// VPC, and AWS sends it empty.
func reservationOut(r controlplane.Reservation) Reservation {
	return Reservation{
		ReservationId: ptr(r.ReservationID),
		OwnerId:       ptr(r.OwnerID),
		Groups:        []GroupIdentifier{},
		Instances:     convertAll(r.Instances, instanceOut),
	}
}

// stateChangesOut converts the answer of Terminate/Stop/StartInstances.
func stateChangesOut(in []controlplane.InstanceStateChange) []InstanceStateChange {
	out := make([]InstanceStateChange, 0, len(in))
	for _, c := range in {
		out = append(out, InstanceStateChange{
			InstanceId:    ptr(c.InstanceID),
			PreviousState: stateOut(c.PreviousState, model.InstanceStateCode[c.PreviousState]),
			CurrentState:  stateOut(c.CurrentState, model.InstanceStateCode[c.CurrentState]),
		})
	}
	return out
}

// RunInstances implements RunInstancesAPI. Parameters the control plane
// does not model (NetworkInterface.N, BlockDeviceMapping.N, KeyName, …)
// are not passed on.
func (a *API) RunInstances(ctx context.Context, req *awsapi.Request, in *RunInstancesInput) (*RunInstancesOutput, error) {
	r, err := a.cp.RunInstances(ctx, req.Caller.AccountID, controlplane.RunInstancesInput{
		ImageID:          deref(in.ImageId),
		InstanceType:     deref(in.InstanceType),
		MinCount:         in.MinCount,
		MaxCount:         in.MaxCount,
		SubnetID:         deref(in.SubnetId),
		SecurityGroupIDs: in.SecurityGroupIds,
		SecurityGroups:   in.SecurityGroups,
		PrivateIPAddress: deref(in.PrivateIpAddress),
		UserData:         deref(in.UserData),
		TagSpecs:         tagSpecsIn(in.TagSpecifications),
		ClientToken:      deref(in.ClientToken),
		DryRun:           deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := RunInstancesOutput(reservationOut(r))
	return &out, nil
}

// DescribeInstances implements DescribeInstancesAPI.
func (a *API) DescribeInstances(ctx context.Context, req *awsapi.Request, in *DescribeInstancesInput) (*DescribeInstancesOutput, error) {
	res, err := a.cp.DescribeInstances(ctx, req.Caller.AccountID, controlplane.DescribeInstancesInput{
		InstanceIDs:             in.InstanceIds,
		Filters:                 filtersIn(in.Filters),
		Page:                    pageIn(in.MaxResults, in.NextToken),
		IncludeManagedResources: deref(in.IncludeManagedResources),
		DryRun:                  deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeInstancesOutput{Reservations: convertAll(res.Reservations, reservationOut), NextToken: optStr(res.NextToken)}, nil
}

// TerminateInstances implements TerminateInstancesAPI.
func (a *API) TerminateInstances(ctx context.Context, req *awsapi.Request, in *TerminateInstancesInput) (*TerminateInstancesOutput, error) {
	changes, err := a.cp.TerminateInstances(ctx, req.Caller.AccountID, controlplane.TerminateInstancesInput{
		InstanceIDs:    in.InstanceIds,
		Force:          deref(in.Force),
		SkipOsShutdown: deref(in.SkipOsShutdown),
		DryRun:         deref(in.DryRun),
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
		Force:          deref(in.Force),
		Hibernate:      deref(in.Hibernate),
		SkipOsShutdown: deref(in.SkipOsShutdown),
		DryRun:         deref(in.DryRun),
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
		DryRun:      deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &StartInstancesOutput{StartingInstances: stateChangesOut(changes)}, nil
}

// statusSummaryOut converts an instanceStatus or systemStatus: its one
// detail is "reachability", when the control plane reports it.
func statusSummaryOut(s controlplane.StatusSummary) *InstanceStatusSummary {
	out := &InstanceStatusSummary{Status: ptr(s.Status)}
	if s.Reachability != "" {
		out.Details = []InstanceStatusDetails{{Name: ptr("reachability"), Status: ptr(s.Reachability)}}
	}
	return out
}

// ebsStatusSummaryOut is statusSummaryOut for attachedEbsStatus.
func ebsStatusSummaryOut(s controlplane.StatusSummary) *EbsStatusSummary {
	out := &EbsStatusSummary{Status: ptr(s.Status)}
	if s.Reachability != "" {
		out.Details = []EbsStatusDetails{{Name: ptr("reachability"), Status: ptr(s.Reachability)}}
	}
	return out
}

// DescribeInstanceStatus implements DescribeInstanceStatusAPI.
func (a *API) DescribeInstanceStatus(ctx context.Context, req *awsapi.Request, in *DescribeInstanceStatusInput) (*DescribeInstanceStatusOutput, error) {
	res, err := a.cp.DescribeInstanceStatus(ctx, req.Caller.AccountID, controlplane.DescribeInstanceStatusInput{
		InstanceIDs:             in.InstanceIds,
		Filters:                 filtersIn(in.Filters),
		Page:                    pageIn(in.MaxResults, in.NextToken),
		IncludeAllInstances:     deref(in.IncludeAllInstances),
		IncludeManagedResources: deref(in.IncludeManagedResources),
		DryRun:                  deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeInstanceStatusOutput{
		InstanceStatuses: make([]InstanceStatus, 0, len(res.InstanceStatuses)),
		NextToken:        optStr(res.NextToken),
	}
	for _, st := range res.InstanceStatuses {
		out.InstanceStatuses = append(out.InstanceStatuses, InstanceStatus{
			InstanceId:         ptr(st.InstanceID),
			AvailabilityZone:   ptr(st.AvailabilityZone),
			AvailabilityZoneId: optStr(st.AvailabilityZoneID),
			InstanceState:      stateOut(st.State, st.StateCode),
			InstanceStatus:     statusSummaryOut(st.InstanceStatus),
			SystemStatus:       statusSummaryOut(st.SystemStatus),
			AttachedEbsStatus:  ebsStatusSummaryOut(st.AttachedEBSStatus),
		})
	}
	return out, nil
}

// GetConsoleOutput implements GetConsoleOutputAPI. Output is left out
// while the instance has written nothing.
func (a *API) GetConsoleOutput(ctx context.Context, req *awsapi.Request, in *GetConsoleOutputInput) (*GetConsoleOutputOutput, error) {
	co, err := a.cp.GetConsoleOutput(ctx, req.Caller.AccountID, controlplane.GetConsoleOutputInput{
		InstanceID: deref(in.InstanceId),
		Latest:     deref(in.Latest),
		DryRun:     deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &GetConsoleOutputOutput{InstanceId: ptr(co.InstanceID), Timestamp: ptr(co.Timestamp), Output: optStr(co.Output)}, nil
}
