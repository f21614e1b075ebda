# A web tier: a public firewall, an application firewall that only the web tier reaches, a
# launch template and an autoscaling group with CPU target tracking.

variable "network" {
  description = "The network to place the tier in (a `network` block or the network module's `network` output)."
}

variable "subnets" {
  type = list(string)
}

variable "image" {
  type = string
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "capacity" {
  type = number
}

variable "admin_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "user_data" {
  type      = string
  default   = ""
  sensitive = true
}

firewall "web" {
  network = var.network
  ingress {
    protocol = "tcp"
    ports    = 443
    from     = ["0.0.0.0/0"]
  }
  ingress {
    protocol = "tcp"
    ports    = 22
    from     = [var.admin_cidr]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

firewall "app" {
  network = var.network
  ingress {
    protocol = "tcp"
    ports    = "8080-8081"
    from     = [firewall.web]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

launch_template "web" {
  image         = var.image
  instance_type = var.instance_type
  firewalls     = [firewall.web, firewall.app]
  user_data     = var.user_data
  http_tokens   = "required"
  volume {
    size_gb   = 20
    encrypted = true
  }
}

autoscaling "web" {
  template = launch_template.web
  subnets  = var.subnets
  min      = 2
  max      = max(var.capacity * 2, 2)
  desired  = var.capacity
  scaling "cpu" {
    target_cpu = 70
  }
  rollout {
    strategy    = "canary"
    checkpoints = [10, 50, 100]
    min_healthy = 90
  }
}

output "group_name" {
  value = autoscaling.web.name
}

output "web_firewall_id" {
  value = firewall.web.id
}
