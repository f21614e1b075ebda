//! Limits the cloud puts on resource attributes, in one place: configuration checks them at
//! `validate` and plan time (with the limit in the message), and the simulated cloud enforces
//! the same numbers when a call breaks them anyway.
//!
//! Each check returns what is wrong as a sentence that names the limit, for the caller to
//! place at the offending source.

use super::Kind;
use std::ops::RangeInclusive;

/// Prefix lengths AWS accepts for a VPC's and a subnet's IPv4 block (`/16` … `/28`).
pub const NETWORK_PREFIX: RangeInclusive<u8> = 16..=28;

/// Sizes of an EBS volume, in GiB (the gp2/gp3 range).
pub const VOLUME_SIZE_GB: RangeInclusive<u64> = 1..=16384;

/// EBS volume types.
pub const VOLUME_TYPES: [&str; 7] = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];

/// TCP and UDP port numbers.
pub const PORTS: RangeInclusive<i64> = 0..=65535;

/// Length of a launch template's name.
pub const LAUNCH_TEMPLATE_NAME_LENGTH: RangeInclusive<usize> = 3..=128;

/// Length of a security group's or an autoscaling group's name.
pub const NAME_LENGTH: usize = 255;

/// Checks a network's block: IPv4, canonical (no host bits set), `/16` to `/28`.
///
/// # Errors
///
/// What is wrong, naming the limit.
pub fn check_network_block(text: &str) -> Result<ipnet::Ipv4Net, String> {
    let block = match text.parse::<ipnet::IpNet>() {
        Ok(ipnet::IpNet::V4(block)) => block,
        Ok(ipnet::IpNet::V6(_)) => {
            return Err(format!(
                "`{text}` is an IPv6 block; a network's primary block is IPv4"
            ));
        }
        Err(_) => {
            return Err(format!(
                "`{text}` is not a CIDR block such as `10.0.0.0/16`"
            ));
        }
    };
    if block.trunc() != block {
        return Err(format!(
            "`{text}` has host bits set; the block starts at `{}`",
            block.trunc()
        ));
    }
    check_prefix("a network", block)?;
    Ok(block)
}

/// Checks a subnet's block against the prefix limit.
///
/// # Errors
///
/// What is wrong, naming the limit.
pub fn check_subnet_block(block: ipnet::Ipv4Net) -> Result<(), String> {
    check_prefix("a subnet", block)
}

fn check_prefix(what: &str, block: ipnet::Ipv4Net) -> Result<(), String> {
    if NETWORK_PREFIX.contains(&block.prefix_len()) {
        return Ok(());
    }
    Err(format!(
        "`{block}` is a /{} block; {what} must be between /{} and /{}",
        block.prefix_len(),
        NETWORK_PREFIX.start(),
        NETWORK_PREFIX.end()
    ))
}

/// Checks a volume size in GiB.
///
/// # Errors
///
/// What is wrong, naming the limit.
pub fn check_volume_size(size_gb: u64) -> Result<(), String> {
    if VOLUME_SIZE_GB.contains(&size_gb) {
        return Ok(());
    }
    Err(format!(
        "a volume of {size_gb} GiB is outside the range {} to {} GiB",
        VOLUME_SIZE_GB.start(),
        VOLUME_SIZE_GB.end()
    ))
}

/// Checks a volume type.
///
/// # Errors
///
/// What is wrong, naming the types there are.
pub fn check_volume_type(volume_type: &str) -> Result<(), String> {
    if VOLUME_TYPES.contains(&volume_type) {
        return Ok(());
    }
    Err(format!(
        "`{volume_type}` is not a volume type; the types are {}",
        VOLUME_TYPES.join(", ")
    ))
}

/// Lengths of the hexadecimal part of an image id: the old short ids and today's long ones.
pub const IMAGE_ID_DIGITS: [usize; 2] = [8, 17];

/// The prefix of an image id that names a Systems Manager parameter holding the image id
/// (`resolve:ssm:/aws/service/ami-amazon-linux-latest/...`), which AWS resolves at launch.
pub const SSM_IMAGE_PREFIX: &str = "resolve:ssm:";

/// Whether `image` is shaped as an image id: `ami-` and 8 or 17 lowercase hexadecimal digits,
/// or `resolve:ssm:` and a parameter's name or ARN. AWS refuses anything else with
/// `InvalidAMIID.Malformed` before it looks the image up.
pub fn is_image_id(image: &str) -> bool {
    if let Some(parameter) = image.strip_prefix(SSM_IMAGE_PREFIX) {
        return !parameter.is_empty() && !parameter.contains(char::is_whitespace);
    }
    image.strip_prefix("ami-").is_some_and(|digits| {
        IMAGE_ID_DIGITS.contains(&digits.len())
            && digits
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// Checks the shape of an image id (not whether the image exists: only the cloud knows).
///
/// # Errors
///
/// What is wrong, with the shape expected.
pub fn check_image_id(image: &str) -> Result<(), String> {
    if is_image_id(image) {
        return Ok(());
    }
    Err(format!(
        "`{image}` is not an image id: AWS takes `ami-` followed by 8 or 17 lowercase \
         hexadecimal digits, such as `ami-12c6146b` or `ami-0123456789abcdef0`, or \
         `resolve:ssm:` and a parameter holding one"
    ))
}

/// Longest description AWS takes on a security group rule.
pub const RULE_DESCRIPTION_LENGTH: usize = 255;

/// Checks a security group rule's description: at most 255 characters among letters, digits,
/// spaces and `._-:/()#,@[]+=&;{}!$*`, as AWS takes them (anything else is refused by
/// AuthorizeSecurityGroupIngress half-way through an apply).
///
/// # Errors
///
/// What is wrong, naming the limit.
pub fn check_rule_description(description: &str) -> Result<(), String> {
    let length = description.chars().count();
    if length > RULE_DESCRIPTION_LENGTH {
        return Err(format!(
            "the rule description has {length} characters; AWS takes at most {RULE_DESCRIPTION_LENGTH}"
        ));
    }
    match description
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(*c)))
    {
        Some(bad) => Err(format!(
            "the rule description `{description}` holds `{bad}`; AWS takes letters, digits, spaces and `._-:/()#,@[]+=&;{{}}!$*`"
        )),
        None => Ok(()),
    }
}

/// Checks the cloud name of a resource of `kind`: a launch template's is 3 to 128 letters,
/// digits and `( ) . - / _`; a security group's or an autoscaling group's at most 255
/// characters, and a security group's must not start with `sg-` (AWS keeps that for ids).
/// Other kinds carry their name only as a tag, which takes anything.
///
/// # Errors
///
/// What is wrong, naming the limit.
pub fn check_name(kind: Kind, name: &str) -> Result<(), String> {
    let what = kind.as_str().replace('_', " ");
    match kind {
        Kind::LaunchTemplate => {
            if !LAUNCH_TEMPLATE_NAME_LENGTH.contains(&name.len()) {
                return Err(format!(
                    "the {what} name `{name}` has {} characters; AWS takes {} to {}",
                    name.len(),
                    LAUNCH_TEMPLATE_NAME_LENGTH.start(),
                    LAUNCH_TEMPLATE_NAME_LENGTH.end()
                ));
            }
            match name
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "().-/_".contains(*c)))
            {
                Some(bad) => Err(format!(
                    "the {what} name `{name}` holds `{bad}`; AWS takes letters, digits and `( ) . - / _`"
                )),
                None => Ok(()),
            }
        }
        Kind::SecurityGroup | Kind::AutoscalingGroup => {
            if name.len() > NAME_LENGTH {
                return Err(format!(
                    "the {what} name `{name}` has {} characters; AWS takes at most {NAME_LENGTH}",
                    name.len()
                ));
            }
            if kind == Kind::SecurityGroup && name.starts_with("sg-") {
                return Err(format!(
                    "the {what} name `{name}` starts with `sg-`, which AWS keeps for group ids"
                ));
            }
            Ok(())
        }
        Kind::LoadBalancer | Kind::TargetGroup => {
            if name.is_empty() || name.len() > super::cloud::LOAD_BALANCER_NAME_LIMIT {
                return Err(format!(
                    "the {what} name `{name}` has {} characters; AWS takes 1 to {}",
                    name.len(),
                    super::cloud::LOAD_BALANCER_NAME_LIMIT
                ));
            }
            if let Some(bad) = name
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(format!(
                    "the {what} name `{name}` holds `{bad}`; AWS takes letters, digits and hyphens"
                ));
            }
            if name.starts_with('-') || name.ends_with('-') {
                return Err(format!(
                    "the {what} name `{name}` starts or ends with a hyphen, which AWS refuses"
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_blocks_are_ipv4_canonical_and_between_16_and_28_bits() {
        assert!(check_network_block("10.0.0.0/16").is_ok());
        assert!(check_network_block("10.0.0.0/28").is_ok());
        let too_big = check_network_block("10.0.0.0/8").unwrap_err();
        assert!(too_big.contains("between /16 and /28"), "{too_big}");
        assert!(check_network_block("10.0.0.0/29").is_err());
        let host_bits = check_network_block("10.0.0.1/16").unwrap_err();
        assert!(host_bits.contains("`10.0.0.0/16`"), "{host_bits}");
        assert!(check_network_block("fd00::/56").is_err());
        assert!(check_network_block("banana").is_err());
    }

    #[test]
    fn image_ids_are_ami_and_8_or_17_lowercase_hex_digits_or_an_ssm_parameter() {
        for good in [
            "ami-12c6146b",
            "ami-0123456789abcdef0",
            "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
            "resolve:ssm:golden-image:3",
        ] {
            assert!(check_image_id(good).is_ok(), "{good}");
        }
        for bad in [
            "ubuntu",
            "ami-1",
            "ami-12C6146B",
            "ami-12c6146g",
            "ami-0123456789abcdef",
            "ami-12c6146b ",
            "AMI-12c6146b",
            "",
            "resolve:ssm:",
        ] {
            let message = check_image_id(bad).unwrap_err();
            assert!(message.contains("8 or 17 lowercase"), "{bad}: {message}");
        }
    }

    #[test]
    fn volume_sizes_and_types_follow_ebs() {
        assert!(check_volume_size(1).is_ok() && check_volume_size(16384).is_ok());
        let message = check_volume_size(0).unwrap_err();
        assert!(message.contains("1 to 16384 GiB"), "{message}");
        assert!(check_volume_size(16385).is_err());
        assert!(check_volume_type("gp3").is_ok());
        assert!(check_volume_type("ssd").is_err());
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name(Kind::LaunchTemplate, "shop-dev-web").is_ok());
        assert!(check_name(Kind::LaunchTemplate, "ab").is_err());
        assert!(check_name(Kind::LaunchTemplate, "shop dev").is_err());
        assert!(check_name(Kind::LaunchTemplate, &"a".repeat(129)).is_err());
        assert!(check_name(Kind::SecurityGroup, "sg-web").is_err());
        assert!(check_name(Kind::AutoscalingGroup, "sg-web").is_ok());
        assert!(check_name(Kind::AutoscalingGroup, &"a".repeat(256)).is_err());
        assert!(check_name(Kind::Volume, "any name at all").is_ok());
        assert!(check_name(Kind::LoadBalancer, "legacy-web").is_ok());
        assert!(check_name(Kind::LoadBalancer, "legacy_web").is_err());
        assert!(check_name(Kind::TargetGroup, "-web").is_err());
        assert!(check_name(Kind::TargetGroup, &"a".repeat(33)).is_err());
    }
}
